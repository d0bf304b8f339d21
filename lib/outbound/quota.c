/*
 * quota.c - per-sender outbound quotas: the daemon's half
 *
 * Owns the decision for one message (count, compare, record the held
 * one, the once-per-window alert) and the text forms of what it stores
 * (see quota.h for the keys). It never blocks a message on the store:
 * when the store is down the message passes uncounted and says so.
 */
#include "build.h" /* first: feature macros */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "quota.h"
#include "command.h"
#include "store/store.h"
#include "strbuf.h"

#define QUOTA_ALERT_WAIT 30 /* seconds sendmail may take for an alert */

/* quota_window_start - the start of the window holding t */
int64_t
quota_window_start(int64_t t, unsigned window)
{
	return window > 0 ? t - t % (int64_t)window : t;
}

/* quota_count_key - "quota:USER:WSTART" */
void
quota_count_key(char *out, size_t outlen, const char *user, int64_t wstart)
{
	snprintf(out, outlen, "quota:%s:%lld", user, (long long)wstart);
}

/* qt_clean - text for a tab-separated row: controls become spaces */
static void
qt_clean(struct strbuf *b, const char *s, size_t max)
{
	for (size_t i = 0; s != NULL && s[i] != '\0' && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		sb_putc(b, c < 0x20 || c == 0x7f ? ' ' : (char)c);
	}
}

/* qt_row - the held row of m */
static void
qt_row(struct strbuf *b, const struct quota_msg *m, int64_t now)
{
	size_t rl = 0;

	qt_clean(b, m->queue_id, 63);
	sb_printf(b, "\t%lld\t", (long long)now);
	qt_clean(b, m->sender[0] != '\0' ? m->sender : "<>", 255);
	sb_putc(b, '\t');
	for (size_t i = 0; i < m->nrcpts && rl < 400; i++) {
		size_t before = b->len;

		if (i > 0)
			sb_putc(b, ',');
		qt_clean(b, m->rcpts[i], 200);
		rl += b->len - before;
	}
	sb_putc(b, '\t');
	qt_clean(b, m->subject, 200);
}

/* quota_held_parse - a held row back into h */
int
quota_held_parse(const char *row, struct quota_held *h)
{
	const char *f[5];
	size_t len[5];
	const char *p = row;

	memset(h, 0, sizeof(*h));
	for (int i = 0; i < 5; i++) {
		f[i] = p;
		len[i] = strcspn(p, "\t");
		p += len[i];
		if (i < 4) {
			if (*p != '\t')
				return -1;
			p++;
		}
	}
	if (len[0] == 0 || len[0] >= sizeof(h->queue_id))
		return -1;
	snprintf(h->queue_id, sizeof(h->queue_id), "%.*s", (int)len[0], f[0]);
	h->time = strtoll(f[1], NULL, 10);
	snprintf(h->sender, sizeof(h->sender), "%.*s", (int)len[2], f[2]);
	snprintf(h->rcpts, sizeof(h->rcpts), "%.*s", (int)len[3], f[3]);
	snprintf(h->subject, sizeof(h->subject), "%.*s", (int)len[4], f[4]);
	return 0;
}

/* qt_window_name - "1h", "20s", "30m", "2d" */
static void
qt_window_name(char *out, size_t len, unsigned w)
{
	if (w % 86400 == 0)
		snprintf(out, len, "%ud", w / 86400);
	else if (w % 3600 == 0)
		snprintf(out, len, "%uh", w / 3600);
	else if (w % 60 == 0)
		snprintf(out, len, "%um", w / 60);
	else
		snprintf(out, len, "%us", w);
}

/* quota_check - count m in its user's window and decide */
int
quota_check(struct store *st, const struct config *cfg,
	    const struct quota_msg *m, int64_t now, struct quota_decision *d)
{
	char key[400], win[16];
	int64_t alerts = 0;
	int rc;

	memset(d, 0, sizeof(*d));
	d->limit = config_quota_limit(cfg, m->user);
	d->window = cfg->quota_window;
	if (config_quota_exempt(cfg, m->user, m->sender)) {
		d->verdict = QUOTA_EXEMPT;
		snprintf(d->text, sizeof(d->text), "user %s exempt", m->user);
		return 0;
	}
	if (d->window == 0 || (d->limit == 0 && cfg->quota_limit == 0 &&
			       cfg->nquota_users == 0)) {
		d->verdict = QUOTA_OFF;
		return 0;
	}
	qt_window_name(win, sizeof(win), d->window);
	if (st == NULL) {
		d->verdict = QUOTA_DOWN;
		snprintf(d->text, sizeof(d->text),
			 "quota not counted: StateStore none");
		return -1;
	}
	d->wstart = quota_window_start(now, d->window);
	quota_count_key(key, sizeof(key), m->user, d->wstart);
	/* the counter outlives its window a little: status shows it */
	rc = store_counter_add(st, key, 1, d->window + 60, &d->count);
	if (rc != STORE_OK) {
		d->verdict = QUOTA_DOWN;
		snprintf(d->text, sizeof(d->text),
			 "quota not counted for %s: store %s: %s", m->user,
			 store_status_name(rc), store_error(st));
		return -1;
	}
	if (d->count <= (int64_t)d->limit) {
		d->verdict = QUOTA_PASS;
		snprintf(d->text, sizeof(d->text), "user %s %lld/%u per %s",
			 m->user, (long long)d->count, d->limit, win);
		return 0;
	}
	/* over: record it for the release before saying hold; a message
	 * held without its record would wait for an administrator */
	{
		struct strbuf row = STRBUF_INIT, batch = STRBUF_INIT,
			      group = STRBUF_INIT;
		struct store_rec rec;
		size_t late = 0;

		qt_row(&row, m, now);
		sb_printf(&batch, "held:%s", m->queue_id);
		sb_printf(&group, QUOTA_GROUP "%s", m->user);
		rec = (struct store_rec){sb_str(&group), d->wstart,
					 d->wstart + d->window, sb_str(&row),
					 1};
		rc = row.nomem || batch.nomem || group.nomem
			 ? STORE_DOWN
			 : store_add(st, sb_str(&batch), &rec, 1, &late);
		sb_free(&row);
		sb_free(&batch);
		sb_free(&group);
		if (rc != STORE_OK || late > 0) {
			d->verdict = QUOTA_DOWN;
			snprintf(d->text, sizeof(d->text),
				 "user %s over quota (%lld/%u per %s) but the "
				 "hold could not be recorded (store %s: %s): "
				 "passed",
				 m->user, (long long)d->count, d->limit, win,
				 store_status_name(rc), store_error(st));
			return -1;
		}
	}
	d->verdict = QUOTA_HOLD;
	{
		time_t end = (time_t)(d->wstart + d->window);
		struct tm tm;
		char when[32];

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC",
			 gmtime_r(&end, &tm));
		snprintf(d->text, sizeof(d->text),
			 "outbound quota: user %s sent %lld of %u per %s; "
			 "held until the window ends at %s",
			 m->user, (long long)d->count, d->limit, win, when);
	}
	snprintf(key, sizeof(key), "quota-alert:%s:%lld", m->user,
		 (long long)d->wstart);
	d->alert = store_counter_add(st, key, 1, d->window + 60, &alerts) ==
			   STORE_OK &&
		   alerts == 1;
	return 0;
}

/* quota_alert_mail - the alert to QuotaAlertTo */
int
quota_alert_mail(const struct config *cfg, const struct quota_msg *m,
		 const struct quota_decision *d, char *why, size_t whylen)
{
	struct strbuf b = STRBUF_INIT;
	char win[16], start[32], end[32];
	time_t ws = (time_t)d->wstart, we = (time_t)(d->wstart + d->window);
	struct tm tm;
	int rc;

	qt_window_name(win, sizeof(win), d->window);
	strftime(start, sizeof(start), "%Y-%m-%d %H:%M:%S UTC",
		 gmtime_r(&ws, &tm));
	strftime(end, sizeof(end), "%Y-%m-%d %H:%M:%S UTC",
		 gmtime_r(&we, &tm));
	sb_printf(&b, "To: %s\n", cfg->quota_alert_to);
	sb_puts(&b, "Subject: authtag: outbound quota reached by ");
	qt_clean(&b, m->user, 200);
	sb_printf(&b, " (%u per %s)\n", d->limit, win);
	sb_puts(&b, "Auto-Submitted: auto-generated\n"
		    "MIME-Version: 1.0\n"
		    "Content-Type: text/plain; charset=utf-8\n\n");
	sb_puts(&b, "User ");
	qt_clean(&b, m->user, 200);
	sb_printf(&b,
		  " passed the outbound quota of %u messages per %s.\n"
		  "Window: %s to %s\n"
		  "Count so far: %lld\n\n"
		  "Mail over the quota is held in the queue (not bounced,\n"
		  "not lost); authtag-quota release lets it go once a new\n"
		  "window allows. The first message held:\n\n",
		  d->limit, win, start, end, (long long)d->count);
	sb_puts(&b, "  Queue id:   ");
	qt_clean(&b, m->queue_id, 63);
	sb_puts(&b, "\n  Sender:     ");
	qt_clean(&b, m->sender[0] != '\0' ? m->sender : "<>", 255);
	sb_puts(&b, "\n  Recipients: ");
	for (size_t i = 0; i < m->nrcpts && i < 20; i++) {
		if (i > 0)
			sb_puts(&b, ", ");
		qt_clean(&b, m->rcpts[i], 200);
	}
	if (m->nrcpts > 20)
		sb_printf(&b, " and %zu more", m->nrcpts - 20);
	sb_puts(&b, "\n  Subject:    ");
	qt_clean(&b, m->subject, 200);
	sb_puts(&b, "\n\nIf this is not what the user meant to send, look "
		    "at the held mail\n(authtag-quota status ");
	qt_clean(&b, m->user, 200);
	sb_puts(&b, "; postcat -q QUEUEID) and delete it\n(postsuper -d "
		    "QUEUEID) before the release.\n");
	if (b.nomem) {
		sb_free(&b);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	/* no -f: the MTA gives the daemon's own login as the sender */
	rc = sendmail_pipe(cfg->sendmail_path, "", cfg->quota_alert_to, b.s,
			   b.len, QUOTA_ALERT_WAIT, why, whylen);
	sb_free(&b);
	return rc;
}
