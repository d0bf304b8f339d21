/*
 * server.c - the milter server: the listening socket, one event loop over
 * every MTA connection, a fixed pool of workers
 *
 * Owns struct mserver (the socket, the epoll set, the worker threads,
 * the list of sessions) and the life of each struct mserver_sess (made
 * at accept, ended at close); what a session does with the bytes it
 * reads is session.c's.
 *
 * Every worker waits on the one epoll set; a connection is armed
 * one-shot, so exactly one worker owns it from the moment data arrives
 * until it is armed again. That worker reads what the socket holds in
 * one read, runs every complete command in it (Postfix sends a whole
 * message's steps without waiting when no reply is agreed), writes the
 * replies in one write and arms the connection again. No thread per
 * connection, no poll per command. A checks step that waits for DNS
 * holds its worker, so the pool is sized for that (Workers); but only
 * as many workers as cores wait on the set, the others stay parked
 * until all of those are stuck inside a step (srv_watch, srv_rescuer).
 *
 * Memory per connection is bounded: a frame larger than MPROTO_FRAME_MAX
 * ends the connection; a body chunk that arrives in pieces goes to the
 * filter piece by piece; any other partial frame is kept in a buffer of
 * its own size only until it is complete, so an idle connection, or one
 * in the middle of a 10 MB body, holds no buffer.
 */
#include "build.h" /* first: feature macros */

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "server_int.h"

/* mserver_log - one line through the daemon's logger */
void
mserver_log(struct mserver *srv, int prio, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (srv->conf.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	srv->conf.log(prio, line);
}

/* ---- the listening socket ------------------------------------------ */

/* listen_unix - a unix socket at path */
static int
listen_unix(struct mserver *srv, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (stat(path, &st) == 0) {
		srv->unix_path = strdup(path);
		srv->unix_dev = st.st_dev;
		srv->unix_ino = st.st_ino;
	}
	return fd;
}

/* listen_inet - inet:PORT[@HOST] or inet6:PORT[@HOST]; no host: any */
static int
listen_inet(const char *spec, bool six, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
				 .ai_family = six ? AF_INET6 : AF_INET};
	struct addrinfo *res = NULL;
	char port[16], host[256];
	const char *at = strchr(spec, '@');
	int fd, rc, one = 1;

	snprintf(port, sizeof(port), "%.*s",
		 (int)(at != NULL ? (size_t)(at - spec) : strlen(spec)), spec);
	snprintf(host, sizeof(host), "%s", at != NULL ? at + 1 : "");
	/* [addr] as in Sendmail's configuration */
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if (port[0] == '\0' || strspn(port, "0123456789") != strlen(port)) {
		snprintf(err, errlen, "bad port \"%s\"", port);
		return -1;
	}
	rc = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* srv_listen - the listening socket for conf->spec */
static int
srv_listen(struct mserver *srv, char *err, size_t errlen)
{
	const char *spec = srv->spec;
	int fd;

	if (strncmp(spec, "unix:", 5) == 0)
		fd = listen_unix(srv, spec + 5, err, errlen);
	else if (strncmp(spec, "local:", 6) == 0)
		fd = listen_unix(srv, spec + 6, err, errlen);
	else if (spec[0] == '/')
		fd = listen_unix(srv, spec, err, errlen);
	else if (strncmp(spec, "inet:", 5) == 0)
		fd = listen_inet(spec + 5, false, err, errlen);
	else if (strncmp(spec, "inet6:", 6) == 0)
		fd = listen_inet(spec + 6, true, err, errlen);
	else {
		snprintf(err, errlen,
			 "not a socket (unix:/path, inet:port@host, "
			 "inet6:port@host)");
		return -1;
	}
	if (fd >= 0 && listen(fd, srv->conf.backlog > 0 ? srv->conf.backlog
							: SOMAXCONN) != 0) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- sessions ------------------------------------------------------ */

/* sess_new - a session for an accepted descriptor, in the list */
static struct mserver_sess *
sess_new(struct mserver *srv, int fd)
{
	struct mserver_sess *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->fd = fd;
	s->srv = srv;
	s->state = MPS_INIT;
	pthread_mutex_lock(&srv->slock);
	s->next = srv->sessions;
	if (s->next != NULL)
		s->next->prev = s;
	srv->sessions = s;
	pthread_mutex_unlock(&srv->slock);
	return s;
}

/* sess_end - the connection is over: the filter's close, then free */
static void
sess_end(struct mserver_sess *s)
{
	struct mserver *srv = s->srv;

	if (mproto_in_message(s->state) && srv->conf.ops->abort != NULL)
		srv->conf.ops->abort(s);
	if (srv->conf.ops->close != NULL)
		srv->conf.ops->close(s);
	pthread_mutex_lock(&srv->slock);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	pthread_mutex_unlock(&srv->slock);
	close(s->fd);
	msess_free_parts(s);
	free(s);
}

/* ---- workers ------------------------------------------------------- */

/* srv_arm - wait for the next data on fd (one-shot: one worker owns it) */
static int
srv_arm(struct mserver *srv, int fd, void *ptr, int op)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT,
				 .data.ptr = ptr};

	return epoll_ctl(srv->epfd, op, fd, &ev);
}

/* srv_accept - take the connections waiting, then listen again */
static void
srv_accept(struct mserver *srv)
{
	bool full = false;

	pthread_mutex_lock(&srv->lmutex);
	for (int i = 0; srv->lfd >= 0 && i < MSERVER_ACCEPTS; i++) {
		int fd = accept4(srv->lfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct mserver_sess *s;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				time_t now = time(NULL);

				/* the MTA's connections wait in the backlog */
				if (now - srv->emfile_logged >= 10) {
					srv->emfile_logged = now;
					mserver_log(srv, LOG_WARNING,
						"accept: %s: new MTA "
						"connections wait",
						strerror(errno));
				}
				full = true;
			}
			break;
		}
		if ((s = sess_new(srv, fd)) == NULL) {
			mserver_log(srv, LOG_WARNING,
				"out of memory for an MTA connection: "
				"closed");
			close(fd);
			continue;
		}
		if (srv_arm(srv, fd, s, EPOLL_CTL_ADD) != 0) {
			mserver_log(srv, LOG_WARNING, "epoll: %s: connection closed",
				strerror(errno));
			sess_end(s);
		}
	}
	pthread_mutex_unlock(&srv->lmutex);
	if (full)
		usleep(MSERVER_EMFILE_MS * 1000);
	pthread_mutex_lock(&srv->lmutex);
	if (srv->lfd >= 0)
		(void)srv_arm(srv, srv->lfd, &srv->lfd, EPOLL_CTL_MOD);
	pthread_mutex_unlock(&srv->lmutex);
}

/* srv_watch - wait to be one of the workers on the epoll set; false
 * when the server stops. Few watchers means the same few threads (warm
 * caches, one malloc arena each) take the events; the parked ones step
 * in only when the rescuer sees every watcher stuck (waiting for DNS) */
static bool
srv_watch(struct mserver *srv)
{
	bool go;

	pthread_mutex_lock(&srv->plock);
	while (srv->watching >= srv->watchers && !srv->stopping) {
		srv->parked++;
		pthread_cond_wait(&srv->parked_cv, &srv->plock);
		srv->parked--;
	}
	go = !srv->stopping;
	if (go)
		srv->watching++;
	srv->steps_done++; /* a turn ended (or the first begins) */
	pthread_mutex_unlock(&srv->plock);
	return go;
}

/* srv_unwatch - an event taken */
static void
srv_unwatch(struct mserver *srv)
{
	pthread_mutex_lock(&srv->plock);
	srv->watching--;
	pthread_mutex_unlock(&srv->plock);
}

/* srv_rescuer - every MSERVER_RESCUE_MS: when nobody watches the set
 * and no worker finished a turn since the last look, every watcher is
 * stuck in a step (DNS): unpark one. A busy CPU wakes nobody extra */
static void *
srv_rescuer(void *arg)
{
	struct mserver *srv = arg;
	unsigned long last = 0;
	struct timespec nap = {0, MSERVER_RESCUE_MS * 1000000L};

	pthread_mutex_lock(&srv->plock);
	while (!srv->stopping) {
		if (srv->watching == 0 && srv->parked > 0 &&
		    srv->steps_done == last)
			pthread_cond_signal(&srv->parked_cv);
		last = srv->steps_done;
		pthread_mutex_unlock(&srv->plock);
		nanosleep(&nap, NULL);
		pthread_mutex_lock(&srv->plock);
	}
	pthread_mutex_unlock(&srv->plock);
	return NULL;
}

/* srv_worker - wait for a ready connection, serve it, arm it again */
static void *
srv_worker(void *arg)
{
	struct mserver *srv = arg;
	unsigned char *buf = malloc(MSERVER_READ);

	if (buf == NULL) {
		mserver_log(srv, LOG_ERR, "out of memory for a worker");
		return NULL;
	}
	for (;;) {
		struct epoll_event ev;
		struct mserver_sess *s;
		int n;

		if (!srv_watch(srv))
			break;
		n = epoll_wait(srv->epfd, &ev, 1, -1);
		srv_unwatch(srv);
		if (n < 0 && errno != EINTR) {
			mserver_log(srv, LOG_ERR, "epoll_wait: %s", strerror(errno));
			break;
		}
		if (n <= 0)
			continue;
		if (ev.data.ptr == &srv->stopfd)
			break;
		if (ev.data.ptr == &srv->lfd) {
			srv_accept(srv);
			continue;
		}
		s = ev.data.ptr;
		if (!msess_serve(s, buf))
			sess_end(s);
		else if (srv_arm(srv, s->fd, s, EPOLL_CTL_MOD) != 0)
			sess_end(s);
	}
	free(buf);
	return NULL;
}

/* ---- the server ---------------------------------------------------- */

/* mserver_ncpu - the cores this process may run on: its CPU affinity
 * (taskset, systemd's CPUAffinity=), not every core of the machine */
unsigned
mserver_ncpu(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* mserver_new - listen on conf->spec */
struct mserver *
mserver_new(const struct mserver_conf *conf, char *err, size_t errlen)
{
	struct mserver *srv = calloc(1, sizeof(*srv));

	if (srv == NULL || (srv->spec = strdup(conf->spec)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(srv);
		return NULL;
	}
	srv->conf = *conf;
	srv->conf.spec = srv->spec;
	srv->lfd = srv->epfd = srv->stopfd = -1;
	pthread_mutex_init(&srv->lmutex, NULL);
	pthread_mutex_init(&srv->slock, NULL);
	pthread_mutex_init(&srv->plock, NULL);
	pthread_cond_init(&srv->parked_cv, NULL);
	srv->watchers = conf->watchers > 0 ? conf->watchers : mserver_ncpu();
	if ((srv->lfd = srv_listen(srv, err, errlen)) < 0)
		goto fail;
	if ((srv->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (srv->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto fail;
	}
	return srv;
fail:
	(void)mserver_free(srv, 0);
	return NULL;
}

/* mserver_watchers - how many workers wait for events at once */
unsigned
mserver_watchers(const struct mserver *srv)
{
	return srv->watchers;
}

/* mserver_start - the listening socket in the set, the workers */
int
mserver_start(struct mserver *srv)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &srv->stopfd};
	unsigned n = srv->conf.workers > 0 ? srv->conf.workers : 1;

	if ((srv->threads = calloc(n, sizeof(*srv->threads))) == NULL ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->stopfd, &ev) != 0 ||
	    srv_arm(srv, srv->lfd, &srv->lfd, EPOLL_CTL_ADD) != 0)
		return -1;
	for (; srv->nthreads < n; srv->nthreads++)
		if (pthread_create(&srv->threads[srv->nthreads], NULL,
				   srv_worker, srv) != 0)
			break;
	if (srv->nthreads > srv->watchers)
		srv->rescuer_started =
		    pthread_create(&srv->rescuer, NULL, srv_rescuer, srv) == 0;
	return srv->nthreads > 0 ? 0 : -1;
}

/* mserver_stop_listening - close the listening socket (and its file) */
void
mserver_stop_listening(struct mserver *srv)
{
	struct stat st;

	pthread_mutex_lock(&srv->lmutex);
	if (srv->lfd >= 0) {
		if (srv->epfd >= 0)
			(void)epoll_ctl(srv->epfd, EPOLL_CTL_DEL, srv->lfd,
					NULL);
		close(srv->lfd);
		srv->lfd = -1;
		/* only the file we made: a new instance may own the path */
		if (srv->unix_path != NULL &&
		    stat(srv->unix_path, &st) == 0 &&
		    st.st_dev == srv->unix_dev && st.st_ino == srv->unix_ino)
			(void)unlink(srv->unix_path);
	}
	pthread_mutex_unlock(&srv->lmutex);
}

/* mserver_free - stop the workers, end every session, free */
int
mserver_free(struct mserver *srv, unsigned wait_ms)
{
	struct timespec until;
	uint64_t one = 1;
	bool stuck = false;

	if (srv == NULL)
		return 0;
	mserver_stop_listening(srv);
	pthread_mutex_lock(&srv->plock);
	srv->stopping = true;
	pthread_cond_broadcast(&srv->parked_cv);
	pthread_mutex_unlock(&srv->plock);
	if (srv->stopfd >= 0)
		(void)!write(srv->stopfd, &one, sizeof(one));
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	for (unsigned i = 0; i < srv->nthreads; i++)
		if (pthread_timedjoin_np(srv->threads[i], NULL, &until) != 0)
			stuck = true;
	if (srv->rescuer_started)
		pthread_join(srv->rescuer, NULL);
	if (stuck) {
		mserver_log(srv, LOG_WARNING,
			"a worker is still in a step after %u ms: not "
			"waiting for it",
			wait_ms);
		return -1;
	}
	while (srv->sessions != NULL)
		sess_end(srv->sessions);
	if (srv->epfd >= 0)
		close(srv->epfd);
	if (srv->stopfd >= 0)
		close(srv->stopfd);
	pthread_mutex_destroy(&srv->lmutex);
	pthread_mutex_destroy(&srv->slock);
	pthread_mutex_destroy(&srv->plock);
	pthread_cond_destroy(&srv->parked_cv);
	free(srv->threads);
	free(srv->unix_path);
	free(srv->spec);
	free(srv);
	return 0;
}
