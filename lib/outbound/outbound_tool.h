/*
 * outbound_tool.h - the doors of authtag-quota and authtag-welcome
 *
 * quota_tool.c: release held mail when a window allows, show counts and
 * held mail, reset a user's count; welcome.c's list and forget. Each
 * opens the configuration's StateStore itself and writes its output
 * through out (one line per call) and its log through log.
 */
#ifndef AUTHTAG_OUTBOUND_TOOL_H
#define AUTHTAG_OUTBOUND_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;

struct outbound_tool_opts {
	void (*out)(const char *line); /* a line of output (status, list) */
	void (*log)(int prio, const char *line);
	int64_t now;   /* seconds since the epoch (tests pass their own) */
	bool dry_run;  /* release: say what would go, change nothing */
};

struct quota_release_stats {
	unsigned released; /* postsuper -H'd */
	unsigned left;     /* still held: the window does not allow more */
	unsigned gone;     /* no longer held (released or deleted by hand) */
	unsigned failed;   /* postsuper or the store failed */
};

/*
 * outbound_tool_as_user - run as root, take the daemon's user as the
 * effective user and group (UserID, else the owner of a sqlite: store's
 * file or directory), so that the store's files a tool creates (SQLite's
 * -wal and -shm) stay the daemon's; the commands the tool runs
 * (postsuper, postqueue) get the real ids back. 0, or -1 with err.
 */
int outbound_tool_as_user(const struct config *cfg, char *err,
			  size_t errlen);

/*
 * quota_release - release held mail, oldest first, never more per user
 * than the current window allows, nothing whose window has not ended;
 * 0, 1 when something failed (left for the next run), -1 with err
 */
int quota_release(const struct config *cfg,
		  const struct outbound_tool_opts *o,
		  struct quota_release_stats *stats, char *err,
		  size_t errlen);

/* quota_status - counts of this window and held mail, for one user or
 * all (user NULL); 0, or -1 with err */
int quota_status(const struct config *cfg, const struct outbound_tool_opts *o,
		 const char *user, char *err, size_t errlen);

/* quota_reset - forget user's count of the current window; 0, -1 */
int quota_reset(const struct config *cfg, const struct outbound_tool_opts *o,
		const char *user, char *err, size_t errlen);

/* welcome_list - the pairs user wrote to, with their last-seen dates;
 * user is an address, or a bare local part (every domain); 0, -1 */
int welcome_list(const struct config *cfg, const struct outbound_tool_opts *o,
		 const char *user, char *err, size_t errlen);

/* welcome_forget - forget one pair, or all of user's (address NULL);
 * 0, or -1 with err */
int welcome_forget(const struct config *cfg,
		   const struct outbound_tool_opts *o, const char *user,
		   const char *address, char *err, size_t errlen);

#endif
