/*
 * summary.c - the one log line per message, and text made safe for logs
 *
 * Owns the format of the summary line the daemon logs for every message
 * it finishes, e.g.
 *
 *   4XyZ1: client=192.0.2.25 mailfrom=example.com from=example.com
 *   rcpts=1 spf=pass dkim=pass:example.com dmarc=pass(p=reject)
 *   score=-0.1/5.0 tagged
 *
 * (with " arc=RESULT [sealed=i=N cv=X]" after dkim= for mail that has an
 * ARC chain or that we sealed, and " signed=example.com:sel" or
 * " signed=no(why)" before the last word when the message was ours to
 * sign)
 *
 * and milter_sanitize(), through which every value that came from a
 * message or an MTA passes before it reaches a log line or an SMTP
 * reply: a sender must not be able to forge log lines or break a reply.
 */
#include "build.h" /* first: feature macros */

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "milter.h"

#define SUMMARY_DKIM_MAX 4 /* signatures named in the line; then "+N" */

/* milter_sanitize - keep printable ASCII except '%' and blanks */
void
milter_sanitize(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	if (len == 0)
		return;
	for (; src != NULL && src[i] != '\0' && i + 1 < len; i++) {
		unsigned char c = (unsigned char)src[i];

		/* '%' is special to smfi_setreply, blanks split log fields */
		dst[i] = c > 32 && c < 127 && c != '%' ? (char)c : '?';
	}
	dst[i] = '\0';
}

/* summary_dkim - "pass:d1,fail:d2" or "none" into out */
static void
summary_dkim(const struct auth_results *res, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	if (res->ndkim == 0 || res->dkim == NULL) {
		snprintf(out, len, "none");
		return;
	}
	for (size_t i = 0; i < res->ndkim && n < len; i++) {
		char dom[RES_DOMAIN_MAX];
		int w;

		if (i == SUMMARY_DKIM_MAX) {
			snprintf(out + n, len - n, ",+%zu", res->ndkim - i);
			return;
		}
		milter_sanitize(dom, sizeof(dom), res->dkim[i].domain);
		w = snprintf(out + n, len - n, "%s%s:%s", i ? "," : "",
			     result_name(res->dkim[i].result),
			     dom[0] ? dom : "?");
		if (w < 0)
			return;
		n += (size_t)w;
	}
}

/* summary_dmarc - "pass(p=reject)" or "fail(p=reject,dis=quarantine)" */
static void
summary_dmarc(const struct dmarc_outcome *d, char *out, size_t len)
{
	char pol[16], dis[16];

	if (!d->checked) {
		snprintf(out, len, "skipped");
		return;
	}
	milter_sanitize(pol, sizeof(pol), d->policy);
	milter_sanitize(dis, sizeof(dis), d->disposition);
	if (pol[0] == '\0')
		snprintf(out, len, "%s", result_name(d->result));
	else if (d->result == RES_FAIL)
		snprintf(out, len, "%s(p=%s,dis=%s%s)", result_name(d->result),
			 pol, dis[0] ? dis : "none", d->testing ? ",t=y" : "");
	else
		snprintf(out, len, "%s(p=%s)", result_name(d->result), pol);
}

/* summary_why_add - "; what=result (reason)" for a result not pass */
static void
summary_why_add(char *buf, size_t len, const char *what, const char *extra,
		enum ar_result r, const char *reason)
{
	char clean[RES_REASON_MAX];
	size_t n = strlen(buf);

	if (r == RES_PASS || n + 1 >= len)
		return;
	/* our own words and a normalised name: blanks kept, so that the
	 * reason reads as a sentence; controls and 8-bit never */
	for (n = 0; reason[n] != '\0' && n + 1 < sizeof(clean); n++)
		clean[n] = (unsigned char)reason[n] >= 32 &&
				   (unsigned char)reason[n] < 127
			       ? reason[n]
			       : '?';
	clean[n] = '\0';
	n = strlen(buf);
	snprintf(buf + n, len - n, "%s%s=%s%s%s%s%s", n > 0 ? "; " : "", what,
		 result_name(r), extra, clean[0] ? " (" : "", clean,
		 clean[0] ? ")" : "");
}

/* summary_why - LogWhy: one line with the reason of each non-pass */
static void
summary_why(const struct milter_msg_info *info,
	    const struct auth_results *res)
{
	char why[1536] = "", d[RES_DOMAIN_MAX + 8];

	if (res->spf_mailfrom.checked)
		summary_why_add(why, sizeof(why), "spf", "",
				res->spf_mailfrom.result,
				res->spf_mailfrom.reason);
	for (size_t i = 0; i < res->ndkim; i++) {
		char dom[RES_DOMAIN_MAX];

		milter_sanitize(dom, sizeof(dom), res->dkim[i].domain);
		snprintf(d, sizeof(d), " d=%s", dom);
		summary_why_add(why, sizeof(why), "dkim", d,
				res->dkim[i].result, res->dkim[i].reason);
	}
	if (res->arc.checked && res->arc.result == RES_FAIL)
		summary_why_add(why, sizeof(why), "arc", "", res->arc.result,
				res->arc.reason);
	if (res->dmarc.checked && res->dmarc.result != RES_NONE)
		summary_why_add(why, sizeof(why), "dmarc", "",
				res->dmarc.result, res->dmarc.reason);
	if (why[0] != '\0')
		mlog(LOG_INFO, "%s: why: %s",
		     info->queue_id[0] ? info->queue_id : "NOQUEUE", why);
}

/* milter_summary - log the one line for a finished message */
void
milter_summary(const struct milter_msg_info *info,
	       const struct auth_results *res)
{
	char dkim[512], dmarc[64], spf[64], who[128], auth[RES_ADDRESS_MAX];
	char score[64] = "", sign[600] = "", arc[300] = "";

	if (info->local)
		snprintf(who, sizeof(who), "local (sendmail) client=%s",
			 info->client_ip[0] ? info->client_ip : "unknown");
	else
		snprintf(who, sizeof(who), "client=%s%s",
			 info->client_ip[0] ? info->client_ip : "unknown",
			 info->trusted ? " trusted" : "");
	if (res == NULL) {
		mlog(LOG_INFO, "%s: %s mailfrom=%s from=%s rcpts=%u %s",
		     info->queue_id[0] ? info->queue_id : "NOQUEUE", who,
		     info->mail_domain[0] ? info->mail_domain : "<>",
		     info->from_domain, info->nrcpts, info->action);
		return;
	}
	summary_dkim(res, dkim, sizeof(dkim));
	summary_dmarc(&res->dmarc, dmarc, sizeof(dmarc));
	if (res->spf_mailfrom.checked)
		snprintf(spf, sizeof(spf), "%s",
			 result_name(res->spf_mailfrom.result));
	else
		snprintf(spf, sizeof(spf), "skipped");
	auth[0] = '\0';
	if (res->auth_user[0] != '\0') {
		char user[RES_ADDRESS_MAX - 8];

		milter_sanitize(user, sizeof(user), res->auth_user);
		snprintf(auth, sizeof(auth), " auth=%s", user);
	}
	if (info->sign != NULL && info->sign[0] != '\0') {
		size_t i = 0;

		/* our own words around a normalised domain; blanks kept so
		 * the reason reads as a sentence, controls never */
		i = (size_t)snprintf(sign, sizeof(sign), " signed=");
		for (const char *p = info->sign; *p && i + 1 < sizeof(sign);
		     p++)
			sign[i++] = (unsigned char)*p >= 32 &&
					    (unsigned char)*p < 127 && *p != '%'
					? *p
					: '?';
		sign[i] = '\0';
	}
	/* only for mail that has a chain or that we sealed: the rest's
	 * lines stay as short as before */
	if ((res->arc.checked && res->arc.result != RES_NONE) ||
	    (info->seal != NULL && info->seal[0] != '\0')) {
		int w = snprintf(arc, sizeof(arc), " arc=%s",
				 result_name(res->arc.result));

		if (w > 0 && info->seal != NULL && info->seal[0] != '\0')
			snprintf(arc + w, sizeof(arc) - (size_t)w,
				 " sealed=%.200s", info->seal);
	}
	if (info->scored)
		snprintf(score, sizeof(score), " score=%.1f/%.1f",
			 info->score.score, info->score.required);
	mlog(LOG_INFO,
	     "%s: %s%s mailfrom=%s from=%s rcpts=%u spf=%s%s%s dkim=%s%s "
	     "dmarc=%s%s%s %s",
	     info->queue_id[0] ? info->queue_id : "NOQUEUE", who, auth,
	     info->mail_domain[0] ? info->mail_domain : "<>", info->from_domain,
	     info->nrcpts, spf, res->spf_helo.checked ? " helo=" : "",
	     res->spf_helo.checked ? result_name(res->spf_helo.result) : "",
	     dkim, arc, dmarc, score, sign, info->action);
	if (info->log_why)
		summary_why(info, res);
	if (info->scored && info->score.problems[0] != '\0') {
		char why[512];

		/* a scorer that failed costs the score, not the message */
		snprintf(why, sizeof(why), "%s", info->score.problems);
		for (char *p = why; *p != '\0'; p++)
			if ((unsigned char)*p < 32 || *p == 127)
				*p = '?';
		mlog(LOG_WARNING, "%s: scoring incomplete: %s",
		     info->queue_id[0] ? info->queue_id : "NOQUEUE", why);
	}
}
