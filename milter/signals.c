/*
 * signals.c - which thread gets SIGHUP, SIGTERM and SIGINT, and how
 * they reach main()
 *
 * Every other thread (the server's workers, the reload thread) starts
 * with them blocked. Linux hands a process-directed signal to the main
 * thread whenever that thread can take it (not blocked, nothing else
 * pending for it): so main keeps exactly these three unblocked, with
 * SA_NODEFER so that even while it handles one it can take the next,
 * and blocks everything else; a step in a worker is never interrupted
 * and SIGHUP means "reload", as in opendkim. The
 * handlers only write one byte to a pipe that main reads. SIGUSR1 (the
 * reload signal of opendkim) has a sigwait() thread of its own, so that
 * it is never pending on main.
 *
 * The write end of the pipe is file-scope: a signal handler can reach
 * nothing else. It is set before any handler is installed.
 */
#include "build.h" /* first: feature macros */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "milter.h"

/* file-scope on purpose: see the header comment */
static int msig_wfd = -1;

/* msig_handler - note the signal in the pipe; async-signal-safe */
static void
msig_handler(int sig)
{
	int saved = errno;
	char c = sig == SIGHUP   ? MSIG_RELOAD
		 : sig == SIGINT ? MSIG_INT
				 : MSIG_TERM;

	(void)!write(msig_wfd, &c, 1);
	errno = saved;
}

/* msig_set - the signals main handles, plus SIGUSR1 */
static void
msig_set(sigset_t *set, bool with_usr1)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	if (with_usr1)
		sigaddset(set, SIGUSR1);
}

/* msig_block - block them all in the calling thread, before any other
 * thread exists, so that every thread inherits the mask */
void
msig_block(void)
{
	sigset_t set;

	msig_set(&set, true);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* msig_usr1_thread - SIGUSR1 means reload, like SIGHUP */
static void *
msig_usr1_thread(void *arg)
{
	struct msig *ms = arg;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	for (;;)
		if (sigwait(&set, &sig) == 0 && sig == SIGUSR1)
			msig_post(ms, MSIG_RELOAD);
	return NULL;
}

/* msig_open - the pipe; 0 or -1 */
int
msig_open(struct msig *ms)
{
	int fds[2];

	memset(ms, 0, sizeof(*ms));
	ms->rfd = ms->wfd = -1;
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	/* a full pipe drops a byte rather than block a handler: one
	 * pending reload or stop is as good as many */
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	ms->rfd = fds[0];
	ms->wfd = fds[1];
	msig_wfd = fds[1];
	return 0;
}

/* msig_start - once the other threads exist: the SIGUSR1 thread, the
 * handlers, and main's own mask; 0 or -1 */
int
msig_start(struct msig *ms)
{
	struct sigaction sa;
	sigset_t set;

	if (pthread_create(&ms->usr1, NULL, msig_usr1_thread, ms) != 0)
		return -1;
	ms->usr1_started = true;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = msig_handler;
	sa.sa_flags = SA_NODEFER | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGHUP, &sa, NULL) != 0 ||
	    sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0)
		return -1;
	msig_set(&set, false);
	return pthread_sigmask(SIG_UNBLOCK, &set, NULL) == 0 ? 0 : -1;
}

/* msig_post - tell main something (from any thread) */
void
msig_post(struct msig *ms, char what)
{
	(void)!write(ms->wfd, &what, 1);
}

/* msig_next - wait for the next event for main */
char
msig_next(struct msig *ms)
{
	char c;
	ssize_t n;

	while ((n = read(ms->rfd, &c, 1)) != 1)
		if (n == 0 || (n < 0 && errno != EINTR))
			return MSIG_TERM;
	return c;
}

/* msig_close - stop the SIGUSR1 thread, close the pipe */
void
msig_close(struct msig *ms)
{
	sigset_t set;

	/* no handler may write to a closed descriptor */
	msig_set(&set, false);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (ms->usr1_started) {
		pthread_cancel(ms->usr1);
		pthread_join(ms->usr1, NULL);
		ms->usr1_started = false;
	}
	msig_wfd = -1;
	if (ms->rfd >= 0)
		close(ms->rfd);
	if (ms->wfd >= 0)
		close(ms->wfd);
	ms->rfd = ms->wfd = -1;
}
