/*
 * authtag.c - the authtag milter daemon: main(), start-up, signals
 *
 * Owns the order of start-up (configuration, socket, detaching, PID
 * file, giving up root, engine, threads), the reload of the
 * configuration and the stop.
 *
 * Signals (see signals.c for why main gets them):
 * SIGHUP and SIGUSR1 reload, in a thread of their own so that main is
 * free again at once; SIGTERM and SIGINT stop gracefully: no new
 * connections, open messages get up to AUTHTAG_DRAIN_SECONDS to finish,
 * exit 0.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <sqlite3.h>
#include <openssl/crypto.h>
#include <unbound.h>

#include "build.h"
#include "config.h"
#include "engine.h"
#include "milter.h"
#include "proto.h"
#include "server.h"

#define AUTHTAG_DRAIN_SECONDS 30  /* open messages may finish this long */
#define AUTHTAG_STORE_WAIT_MS 5000 /* a store that is away, at stop */
#define AUTHTAG_TRIM_SECONDS 30   /* freed memory back to the system */
#define AUTHTAG_SOMAXCONN "/proc/sys/net/core/somaxconn"
/* authtag -V says why the daemon speaks the protocol itself (README,
 * "Why not libmilter", has the measurements) */
#define AUTHTAG_WHY_NOT_LIBMILTER                                              \
	"libmilter left: a filter doing nothing costs 0.15-0.20 ms of CPU "    \
	"per message on it, 0.03-0.06 on this server; authtag 0.10-0.21 ms "   \
	"less per message"

struct authtag_opts {
	const char *config_path; /* -c; NULL: the default, if it exists */
	const char *socket;      /* -p */
	bool foreground;         /* -f */
	bool check_only;         /* -n */
};

struct authtag {
	struct authtag_opts opts;
	struct milter_shared shared;
	char *socket; /* the socket in use (-p or Socket) */
	char *pid_file;
	char *user_id;
	struct msig sig;
	struct mserver *server; /* the socket and the workers */
	pthread_t reload_thread;
	pthread_mutex_t lock; /* guards the two flags below */
	pthread_cond_t wake;
	bool reload_pending;
	bool stopping;
	struct report_rec *recorder; /* DMARC report rows, or NULL */
	unsigned left_open; /* messages still open after the drain */
	bool keep_stderr;   /* detached, but no syslog: log to stderr */
};

/* authtag_usage - the synopsis */
static void
authtag_usage(FILE *fp)
{
	fprintf(fp,
		"usage: authtag [-f] [-n] [-V] [-c CONFIG] [-p SOCKET]\n"
		"  -c CONFIG  configuration file (default %s)\n"
		"  -p SOCKET  listen here: unix:/path, inet:port@host, "
		"inet6:port@host\n"
		"  -f         stay in the foreground, log to stderr too\n"
		"  -n         check the configuration and exit (0 good, 2 "
		"bad)\n"
		"  -V         print the versions of authtag and its "
		"libraries\n",
		CONFIG_DEFAULT_PATH);
}

/* authtag_versions - authtag and every library it links, at run time */
static void
authtag_versions(void)
{
	printf("authtag %s\n", PACKAGE_VERSION);
	printf("milter protocol %d, authtag's own server (%s)\n",
	       MPROTO_VERSION, AUTHTAG_WHY_NOT_LIBMILTER);
	printf("libunbound %s\n", ub_version());
	printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("SQLite %s, hiredis %d.%d.%d\n", sqlite3_libversion(),
	       HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
	/* the paths this build was configured with: what the docs call
	 * /etc/authtag.conf is this file */
	printf("configuration file %s\n", CONFIG_DEFAULT_PATH);
	printf("state directory %s (StateStore default sqlite:%s/state.db)\n",
	       STATEDIR, STATEDIR);
}

/* authtag_parse - fill opts from argv; 0 run, 1 done (exit 0), -1 usage */
static int
authtag_parse(int argc, char **argv, struct authtag_opts *opts)
{
	int c;

	while ((c = getopt(argc, argv, "c:p:fnVh")) != -1) {
		switch (c) {
		case 'c':
			opts->config_path = optarg;
			break;
		case 'p':
			opts->socket = optarg;
			break;
		case 'f':
			opts->foreground = true;
			break;
		case 'n':
			opts->check_only = true;
			break;
		case 'V':
			authtag_versions();
			return 1;
		case 'h':
			authtag_usage(stdout);
			return 1;
		default:
			authtag_usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		authtag_usage(stderr);
		return -1;
	}
	return 0;
}

/* authtag_store_log - the recorder's log lines */
static void
authtag_store_log(int prio, const char *text)
{
	mlog(prio, "%s", text);
}

/* authtag_server_log - the server's log lines */
static void
authtag_server_log(int prio, const char *text)
{
	mlog(prio, "%s", text);
}

/* authtag_load - read the configuration (or the defaults); NULL + err */
static struct config *
authtag_load(const char *path, char *err, size_t errlen)
{
	struct config *cfg = NULL;

	if (path == NULL) {
		if (access(CONFIG_DEFAULT_PATH, F_OK) != 0) {
			if ((cfg = config_new_defaults()) == NULL)
				snprintf(err, errlen, "out of memory");
			return cfg;
		}
		path = CONFIG_DEFAULT_PATH;
	}
	if (config_load(path, &cfg, err, errlen) != 0)
		return NULL;
	return cfg;
}

/* authtag_warn - log each line of the engine's warnings */
static void
authtag_warn(const struct engine *eng)
{
	const char *w = engine_warnings(eng);

	while (*w != '\0') {
		size_t len = strcspn(w, "\n");

		mlog(LOG_WARNING, "%.*s", (int)len, w);
		w += len + (w[len] == '\n');
	}
}

/* authtag_check_report - print one line of the DNS key check */
static void
authtag_check_report(void *arg, bool ok, const char *line)
{
	(void)arg;
	printf("authtag: %s%s\n", ok ? "" : "warning: ", line);
}

/*
 * authtag_check_as_user - -n with a UserID: the daemon reads its files
 * after it became that user, so build the engine again as that user (in
 * a child) and say what it cannot read; 0 when it can, -1 when not
 */
static int
authtag_check_as_user(const struct config *cfg)
{
	char err[1024];
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int status;

	if (config_user_lookup(cfg->user_id, &uid, &gid, err, sizeof(err)) !=
	    0) {
		fprintf(stderr, "authtag: %s\n", err);
		return -1;
	}
	fflush(stdout);
	if ((pid = fork()) < 0) {
		fprintf(stderr, "authtag: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		struct engine *eng;

		if (daemon_drop_privileges(cfg->user_id, NULL, err,
					   sizeof(err)) != 0) {
			fprintf(stderr, "authtag: %s\n", err);
			_exit(2);
		}
		if ((eng = engine_new(cfg, err, sizeof(err))) == NULL) {
			fprintf(stderr, "authtag: as UserID %s: %s\n",
				cfg->user_id, err);
			_exit(2);
		}
		engine_free(eng);
		if (engine_store_probe(cfg, err, sizeof(err)) != 0)
			printf("authtag: warning: StateStore %s: %s (as "
			       "UserID %s): DMARC report rows are kept in "
			       "memory until it can be written\n",
			       cfg->state_store, err, cfg->user_id);
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}

/* authtag_check - -n: load and build everything, then say so */
static int
authtag_check(const struct authtag_opts *opts)
{
	char err[1024];
	struct config *cfg = authtag_load(opts->config_path, err, sizeof(err));
	struct engine *eng;

	if (cfg == NULL) {
		fprintf(stderr, "authtag: %s\n", err);
		return 2;
	}
	if (opts->socket == NULL && cfg->socket == NULL) {
		fprintf(stderr, "authtag: no Socket in the configuration and "
				"no -p\n");
		config_free(cfg);
		return 2;
	}
	if ((eng = engine_new(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "authtag: %s\n", err);
		config_free(cfg);
		return 2;
	}
	for (const char *w = engine_warnings(eng); *w != '\0';) {
		size_t len = strcspn(w, "\n");

		printf("authtag: warning: %.*s\n", (int)len, w);
		w += len + (w[len] == '\n');
	}
	/* a selector published wrong fails every message it signs:
	 * say so now, while nothing depends on it yet */
	(void)engine_check_keys(eng, authtag_check_report, NULL);
	engine_free(eng);
	if (cfg->user_id != NULL && authtag_check_as_user(cfg) != 0) {
		config_free(cfg);
		return 2;
	}
	if (cfg->user_id == NULL &&
	    engine_store_probe(cfg, err, sizeof(err)) != 0)
		printf("authtag: warning: StateStore %s: %s: DMARC report rows "
		       "are kept in memory until it can be written\n",
		       cfg->state_store, err);
	printf("authtag: configuration %s OK\n",
	       cfg->path != NULL ? cfg->path : "(defaults)");
	config_free(cfg);
	return 0;
}

/* authtag_differs - two optional strings differ */
static bool
authtag_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/* authtag_reload - build a new engine from the file; keep the old one
 * if anything fails */
static void
authtag_reload(struct authtag *at)
{
	char err[1024], id[256];
	struct config *cfg;
	struct engine *eng;
	unsigned gen;

	if ((cfg = authtag_load(at->opts.config_path, err, sizeof(err))) ==
	    NULL) {
		mlog(LOG_ERR, "reload failed, configuration unchanged: %s",
		     err);
		return;
	}
	if ((eng = engine_new(cfg, err, sizeof(err))) == NULL) {
		mlog(LOG_ERR, "reload failed, configuration unchanged: %s",
		     err);
		config_free(cfg);
		return;
	}
	authtag_warn(eng);
	/* the recorder stays: StateStore changes need a restart */
	engine_set_recorder(eng, at->recorder);
	if ((at->opts.socket == NULL &&
	     authtag_differs(cfg->socket, at->socket)) ||
	    authtag_differs(cfg->pid_file, at->pid_file) ||
	    authtag_differs(cfg->user_id, at->user_id))
		mlog(LOG_NOTICE, "reload: Socket, PidFile and UserID "
				 "changes take effect at the next start");
	mlog_syslog(cfg->syslog, cfg->syslog_facility);
	gen = milter_shared_replace(&at->shared, cfg, eng);
	if (gen == 0) {
		mlog(LOG_ERR, "reload failed, configuration unchanged: out of "
			      "memory");
		return;
	}
	milter_shared_describe(&at->shared, &gen, id, sizeof(id));
	mlog(LOG_INFO,
	     "reloaded configuration (generation %u, AuthservID %s); open "
	     "connections finish on the previous one",
	     gen, id);
}

/* authtag_reload_thread - run reloads that main() asks for, one at a
 * time (engine_new must not run in two threads at once); and once every
 * AUTHTAG_TRIM_SECONDS give the memory the workers freed back to the
 * system: glibc keeps it in each thread's arena, and report rows that
 * live until their flush between messages' short-lived buffers leave it
 * in holes it does not trim by itself (measured while rows were held
 * for 5 s at 9,000 messages/s: 61 MB -> 36 MB) */
static void *
authtag_reload_thread(void *arg)
{
	struct authtag *at = arg;

	pthread_mutex_lock(&at->lock);
	for (;;) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += AUTHTAG_TRIM_SECONDS;
		while (!at->reload_pending && !at->stopping)
			if (pthread_cond_timedwait(&at->wake, &at->lock,
						   &until) == ETIMEDOUT) {
				pthread_mutex_unlock(&at->lock);
				(void)malloc_trim(0);
				pthread_mutex_lock(&at->lock);
				clock_gettime(CLOCK_REALTIME, &until);
				until.tv_sec += AUTHTAG_TRIM_SECONDS;
			}
		if (at->stopping)
			break;
		at->reload_pending = false;
		pthread_mutex_unlock(&at->lock);
		authtag_reload(at);
		pthread_mutex_lock(&at->lock);
	}
	pthread_mutex_unlock(&at->lock);
	return NULL;
}

/* authtag_backlog - ListenBacklog, or the system's maximum for 0: a burst
 * of MTA connections (Postfix opens one per SMTP session) waits in the
 * kernel instead of being refused */
static int
authtag_backlog(const struct config *cfg)
{
	FILE *fp;
	int n = 4096;

	if (cfg->listen_backlog > 0)
		return (int)cfg->listen_backlog;
	if ((fp = fopen(AUTHTAG_SOMAXCONN, "r")) != NULL) {
		if (fscanf(fp, "%d", &n) != 1 || n <= 0)
			n = 4096;
		fclose(fp);
	}
	return n;
}

/* authtag_wait_signals - main's loop, until asked to stop */
static void
authtag_wait_signals(struct authtag *at)
{
	for (;;) {
		char what = msig_next(&at->sig);

		switch (what) {
		case MSIG_RELOAD:
			pthread_mutex_lock(&at->lock);
			at->reload_pending = true;
			pthread_cond_signal(&at->wake);
			pthread_mutex_unlock(&at->lock);
			break;
		case MSIG_TERM:
		case MSIG_INT:
			mlog(LOG_INFO,
			     "%s: stopping; open messages may take up to %d "
			     "s",
			     what == MSIG_TERM ? "SIGTERM" : "SIGINT",
			     AUTHTAG_DRAIN_SECONDS);
			return;
		}
	}
}

/* authtag_start - socket, detach, PID file, privileges, engine: the
 * steps before any thread exists; 0, or an exit status */
static int
authtag_start(struct authtag *at, struct config *cfg,
	      struct daemon_ready *ready)
{
	char err[1024];
	struct engine *eng;

	umask((mode_t)cfg->umask);
	if (daemon_socket_prepare(at->socket, err, sizeof(err)) != 0) {
		mlog(LOG_ERR, "%s", err);
		return 1;
	}
	at->server = mserver_new(
	    &(struct mserver_conf){.spec = at->socket,
				   .backlog = authtag_backlog(cfg),
				   .workers = cfg->workers,
				   .ops = &milter_callbacks,
				   .arg = &at->shared,
				   .log = authtag_server_log},
	    err, sizeof(err));
	if (at->server == NULL) {
		mlog(LOG_ERR, "cannot listen on %s: %s", at->socket, err);
		return 1;
	}
	if (!at->opts.foreground) {
		if (daemon_detach(ready, err, sizeof(err)) != 0) {
			mlog(LOG_ERR, "%s", err);
			return 1;
		}
		/* from here the parent prints what goes wrong, once */
		mlog_init("authtag", at->keep_stderr);
	}
	if (daemon_pidfile_write(at->pid_file, err, sizeof(err)) != 0 ||
	    daemon_drop_privileges(at->user_id, at->socket, err, sizeof(err)) !=
		0) {
		mlog(LOG_ERR, "%s", err);
		daemon_ready_fail(ready, 1, err);
		return 1;
	}
	/* after the socket and the user change: reloads read the same
	 * files as this same user, so what starts also reloads */
	if ((eng = engine_new(cfg, err, sizeof(err))) == NULL) {
		mlog(LOG_ERR, "%s", err);
		daemon_ready_fail(ready, 2, err);
		return 2;
	}
	authtag_warn(eng);
	/* as the UserID: the state file is that user's */
	at->recorder = engine_recorder_new(cfg, authtag_store_log, err,
					   sizeof(err));
	if (at->recorder == NULL && err[0] != '\0')
		mlog(LOG_ERR, "StateStore %s: %s; DMARC report rows are not "
			      "recorded",
		     cfg->state_store, err);
	engine_set_recorder(eng, at->recorder);
	if (milter_shared_init(&at->shared, cfg, eng) != 0) {
		engine_free(eng);
		mlog(LOG_ERR, "out of memory");
		daemon_ready_fail(ready, 1, "out of memory");
		return 1;
	}
	/* asked for and not there is an error, as for Socket */
	at->shared.metrics = milter_metrics_new(&at->shared,
						cfg->metrics_socket, err,
						sizeof(err));
	if (at->shared.metrics == NULL) {
		mlog(LOG_ERR, "%s", err);
		daemon_ready_fail(ready, 1, err);
		return 1;
	}
	return 0;
}

/* authtag_stop_reloads - end the reload thread (after any reload in
 * progress) */
static void
authtag_stop_reloads(struct authtag *at)
{
	pthread_mutex_lock(&at->lock);
	at->stopping = true;
	pthread_cond_signal(&at->wake);
	pthread_mutex_unlock(&at->lock);
	pthread_join(at->reload_thread, NULL);
}

/* authtag_run - threads, signals, and the orderly stop; exit status */
static int
authtag_run(struct authtag *at)
{
	unsigned left;

	if (pthread_create(&at->reload_thread, NULL, authtag_reload_thread,
			   at) != 0) {
		mlog(LOG_ERR, "cannot start the reload thread");
		return 1;
	}
	if (mserver_start(at->server) != 0) {
		mlog(LOG_ERR, "cannot start the worker threads");
		authtag_stop_reloads(at);
		return 1;
	}
	if (msig_start(&at->sig) != 0)
		mlog(LOG_WARNING, "cannot set up signal handling: SIGHUP "
				  "and SIGTERM stop the daemon");
	authtag_wait_signals(at);
	mserver_stop_listening(at->server);
	left = milter_shared_drain(&at->shared, AUTHTAG_DRAIN_SECONDS);
	at->left_open = left;
	if (left > 0)
		mlog(LOG_WARNING,
		     "%u message(s) still open after %d s: the MTA applies "
		     "its milter default action to them",
		     left, AUTHTAG_DRAIN_SECONDS);
	/* the sessions between messages end here, each releasing its
	 * engine; a worker still in a step is left to the exit */
	if (mserver_free(at->server, left > 0 ? 100 : 5000) != 0)
		at->left_open = left > 0 ? left : 1;
	at->server = NULL;
	authtag_stop_reloads(at);
	return 0;
}

int
main(int argc, char **argv)
{
	struct authtag at = {.lock = PTHREAD_MUTEX_INITIALIZER,
			     .wake = PTHREAD_COND_INITIALIZER,
			     .sig = {.rfd = -1, .wfd = -1}};
	struct daemon_ready ready = {.fd = -1};
	struct config *cfg;
	char err[1024], id[256];
	unsigned gen;
	int rc;

	switch (authtag_parse(argc, argv, &at.opts)) {
	case 1:
		return 0;
	case -1:
		return 2;
	}
	if (at.opts.check_only)
		return authtag_check(&at.opts);
	mlog_init("authtag", true);
	if ((cfg = authtag_load(at.opts.config_path, err, sizeof(err))) ==
	    NULL) {
		mlog(LOG_ERR, "%s", err);
		return 2;
	}
	at.socket = strdup(at.opts.socket ? at.opts.socket
			   : cfg->socket  ? cfg->socket
					  : "");
	at.pid_file = cfg->pid_file ? strdup(cfg->pid_file) : NULL;
	at.user_id = cfg->user_id ? strdup(cfg->user_id) : NULL;
	if (at.socket == NULL || at.socket[0] == '\0') {
		mlog(LOG_ERR, "no Socket in the configuration and no -p");
		config_free(cfg);
		free(at.socket);
		free(at.pid_file);
		free(at.user_id);
		return 2;
	}
	mlog_syslog(cfg->syslog, cfg->syslog_facility);
	/* detached with Syslog yes and nobody at /dev/log: every line
	 * would be lost; keep stderr (systemd's journal, a redirection) */
	if (!at.opts.foreground && cfg->syslog && !mlog_syslog_reachable()) {
		at.keep_stderr = true;
		mlog(LOG_WARNING,
		     "no syslog daemon at %s: the log goes to stderr",
		     MLOG_SYSLOG_PATH);
	}
	signal(SIGPIPE, SIG_IGN);
	/* glibc gives each new thread an arena of its own, up to 8 per
	 * core; a worker that steps in while others wait for DNS would
	 * keep one for good: two per core are enough for the few that
	 * take the load (measured: RSS 29 -> 39 MB from 1M to 2M messages
	 * without the cap) */
	(void)mallopt(M_ARENA_MAX, (int)mserver_ncpu() * 2);
	/* blocked before any thread exists, so every thread inherits it;
	 * main unblocks its own in msig_start */
	msig_block();
	if (msig_open(&at.sig) != 0) {
		mlog(LOG_ERR, "pipe: %s", strerror(errno));
		config_free(cfg);
		rc = 1;
		goto out;
	}

	if ((rc = authtag_start(&at, cfg, &ready)) != 0) {
		if (at.shared.current == NULL)
			config_free(cfg);
		goto out;
	}
	milter_shared_describe(&at.shared, &gen, id, sizeof(id));
	mlog(LOG_INFO,
	     "authtag %s listening on %s (AuthservID %s; %u workers, %u of "
	     "them waiting for work: the cores it may run on)",
	     PACKAGE_VERSION, at.socket, id, cfg->workers,
	     mserver_watchers(at.server));
	daemon_ready_ok(&ready);
	if (!at.opts.foreground)
		daemon_stdio_null(at.keep_stderr);
	rc = authtag_run(&at);
	milter_metrics_free(at.shared.metrics);
	at.shared.metrics = NULL;
	milter_shared_destroy(&at.shared);
	/* every message is done: write the rows still held. A message
	 * still open may yet add one: then it is not freed (we exit) */
	if (at.left_open == 0)
		engine_recorder_free(at.recorder, AUTHTAG_STORE_WAIT_MS);
	/* after UserID took effect, a PidFile in a directory only root
	 * may write stays: say so (the shipped unit runs as User=authtag
	 * in its own RuntimeDirectory, where it can be removed) */
	if (at.pid_file != NULL && unlink(at.pid_file) != 0 && errno != ENOENT)
		mlog(LOG_WARNING, "PidFile %s: not removed: %s", at.pid_file,
		     strerror(errno));
	mlog(LOG_INFO, "stopped");
out:
	if (at.server != NULL)
		(void)mserver_free(at.server, 0);
	msig_close(&at.sig);
	mlog_close();
	free(at.socket);
	free(at.pid_file);
	free(at.user_id);
	return rc;
}
