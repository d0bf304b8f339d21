/*
 * quota.h - per-sender outbound quotas that hold the excess
 *
 * The daemon's half (quota.c): count a local or authenticated
 * submission in its user's fixed window, and when the count passes the
 * limit say "hold" and record the held message, so that the release
 * (quota_tool.c, authtag-quota) can let it go when a later window
 * allows. Everything lives in the state store:
 *
 *   counter quota:USER:WSTART        messages of USER in the window
 *                                    starting at WSTART (expires)
 *   counter quota-alert:USER:WSTART  the alert of that window was sent
 *   counter quota-released:QID       that held message was released
 *   bucket  quota:USER [WSTART, WEND) one row per held message:
 *           "QID\tTIME\tSENDER\tRCPTS\tSUBJECT"
 *
 * A fixed window (not a sliding one): one counter per user and window
 * is one atomic add in SQLite or Redis, shared by every host, and the
 * release knows exactly when the window that held a message is over.
 * The price is a burst of up to twice the limit across a boundary.
 */
#ifndef AUTHTAG_QUOTA_H
#define AUTHTAG_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct store;

#define QUOTA_GROUP "quota:" /* bucket groups of held mail start so */

/* one outbound message, as the engine knows it */
struct quota_msg {
	const char *user;     /* the key: login or SASL login, lower case */
	const char *sender;   /* envelope sender, "" for <> */
	const char *queue_id; /* the MTA's */
	const char *subject;  /* "" when none */
	const char *const *rcpts;
	size_t nrcpts;
};

enum quota_verdict {
	QUOTA_OFF,    /* no quota applies to this user */
	QUOTA_EXEMPT, /* OutboundQuotaExempt */
	QUOTA_PASS,   /* counted, within the limit */
	QUOTA_HOLD,   /* counted, over the limit: hold it */
	QUOTA_DOWN,   /* the store could not count: passed, uncounted */
};

struct quota_decision {
	enum quota_verdict verdict;
	int64_t count;   /* this message's number in the window */
	unsigned limit;  /* the user's limit */
	unsigned window; /* seconds */
	int64_t wstart;  /* the window's start, seconds since the epoch */
	bool alert;      /* the first hold of this user in this window */
	char text[300];  /* the reason: log line, X-Authtag-Held, hold */
};

/*
 * quota_check - count m in its user's window and decide; 0, or -1 when
 * the store failed (d->verdict QUOTA_DOWN and d->text say why: the
 * message passes, as a quota must never lose mail)
 */
int quota_check(struct store *st, const struct config *cfg,
		const struct quota_msg *m, int64_t now,
		struct quota_decision *d);

/* quota_window_start - the start of the window holding t */
int64_t quota_window_start(int64_t t, unsigned window);

/* quota_count_key - "quota:USER:WSTART" into out (cut to fit) */
void quota_count_key(char *out, size_t outlen, const char *user,
		     int64_t wstart);

/*
 * quota_alert_mail - the alert to QuotaAlertTo, through SendmailPath;
 * 0, or -1 with why
 */
int quota_alert_mail(const struct config *cfg, const struct quota_msg *m,
		     const struct quota_decision *d, char *why, size_t whylen);

/* one held message, parsed back from its row */
struct quota_held {
	char queue_id[64];
	int64_t time;
	char sender[256];
	char rcpts[512];
	char subject[256];
};

/* quota_held_parse - a held row back into h; 0, or -1 if malformed */
int quota_held_parse(const char *row, struct quota_held *h);

#endif
