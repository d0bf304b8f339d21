/*
 * log.c - the daemon's log: syslog with a configured facility, and
 * stderr too when running in the foreground (-f)
 *
 * Owns the only process-wide logging state. It is file-scope because
 * every thread logs (the server's workers, the reload thread, main)
 * and a log line must not need a context passed down to it; the state is set before any thread starts and later changed only
 * through atomics, and glibc's syslog() serialises itself.
 *
 * Lines are single lines: a caller's text never contains a newline
 * (values from messages pass milter_sanitize first).
 */
#include "build.h" /* first: feature macros */

#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "milter.h"

struct mlog_state {
	const char *ident;
	bool to_stderr;
	atomic_bool to_syslog;
};

/* file-scope on purpose: see the header comment */
static struct mlog_state mlog_st = {.ident = "authtag"};

/* mlog_init - name the program; with to_stderr, copy every line there */
void
mlog_init(const char *ident, bool to_stderr)
{
	mlog_st.ident = ident;
	mlog_st.to_stderr = to_stderr;
}

/* mlog_facility - the LOG_ value of a SyslogFacility name */
static int
mlog_facility(const char *name)
{
	static const struct {
		const char *name;
		int value;
	} map[] = {
	    {"mail", LOG_MAIL},     {"daemon", LOG_DAEMON},
	    {"user", LOG_USER},     {"local0", LOG_LOCAL0},
	    {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
	    {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},
	    {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},
	    {"local7", LOG_LOCAL7},
	};

	for (size_t i = 0; name != NULL && i < sizeof(map) / sizeof(map[0]);
	     i++)
		if (strcasecmp(name, map[i].name) == 0)
			return map[i].value;
	return LOG_MAIL;
}

/* mlog_syslog - log to syslog with facility (a config name), or stop */
void
mlog_syslog(bool on, const char *facility)
{
	if (on)
		openlog(mlog_st.ident, LOG_PID | LOG_NDELAY,
			mlog_facility(facility));
	atomic_store(&mlog_st.to_syslog, on);
	if (!on)
		closelog();
}

/* mlog_syslog_reachable - is there a syslog daemon to take our lines?
 * (without one, syslog() drops them without a word) */
bool
mlog_syslog_reachable(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int types[] = {SOCK_DGRAM, SOCK_STREAM};

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", MLOG_SYSLOG_PATH);
	for (size_t i = 0; i < 2; i++) {
		int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
		int ok = fd >= 0 &&
			 connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;

		if (fd >= 0)
			close(fd);
		if (ok)
			return true;
	}
	return false;
}

/* mlog_level - a short word for a priority, for stderr */
static const char *
mlog_level(int prio)
{
	switch (prio) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_DEBUG:
		return "debug";
	default:
		return "info";
	}
}

/* mlog - one line at a syslog priority */
void
mlog(int prio, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (atomic_load(&mlog_st.to_syslog))
		syslog(prio, "%s", line);
	if (mlog_st.to_stderr) {
		char stamp[32];
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		/* one fprintf per line: stdio locks the stream, so lines
		 * from different threads never interleave */
		fprintf(stderr, "%s.%03ld %s[%ld]: %s: %s\n", stamp,
			ts.tv_nsec / 1000000, mlog_st.ident, (long)getpid(),
			mlog_level(prio), line);
	}
}

/* mlog_close - close syslog at exit */
void
mlog_close(void)
{
	if (atomic_load(&mlog_st.to_syslog))
		closelog();
	atomic_store(&mlog_st.to_syslog, false);
}
