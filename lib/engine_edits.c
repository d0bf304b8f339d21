/*
 * engine_edits.c - the edits and the action: what the programs apply
 *
 * Owns turning a finished message's state (lib/engine_int.h) into the
 * struct engine_edits of engine.h: the headers to insert and their
 * order, the forged and X-Spam-* headers to remove with their indexes,
 * the 32 KiB cut of an over-long header, and the action (accept,
 * reject, quarantine, tempfail) with its reply. engine.c calls these at
 * end of message; the milter and authtag-check only apply the result.
 */
#include "build.h" /* first: feature macros */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dmarc.h"
#include "config.h"
#include "engine_int.h"

/* engine_grow - make room for one more element of size sz in *arr,
 * doubling the capacity; -1 when memory ran out (*arr unchanged) */
int
engine_grow(void *arr, size_t *cap, size_t n, size_t sz)
{
	void **p = arr;
	size_t ncap;
	void *grown;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	if ((grown = reallocarray(*p, ncap, sz)) == NULL)
		return -1;
	*p = grown;
	*cap = ncap;
	return 0;
}

/* engine_edits_insert - append one header to insert; value is taken
 * over (freed here on failure) */
int
engine_edits_insert(struct engine_edits *edits, size_t *cap, const char *name,
		    char *value)
{
	char *n = strdup(name);

	if (n == NULL || engine_grow(&edits->insert, cap, edits->ninsert,
				     sizeof(*edits->insert)) != 0) {
		free(n);
		free(value);
		return -1;
	}
	edits->insert[edits->ninsert++] =
	    (struct header_edit){.name = n, .value = value, .index = 1};
	return 0;
}

/*
 * engine_msg_removals - list every header to remove: A-R headers that
 * claim our id, then ARC-Authentication-Results headers that do (a
 * reader must not take one for ours; such a message is not sealed, see
 * engine_arc.c, since our seal would cover a removed field), then incoming
 * X-Spam-* fields (a sender must not
 * pre-mark a message as clean), each name highest index first so that
 * a removal leaves the indexes still to remove unchanged
 */
int
engine_msg_removals(struct engine_msg *msg, struct engine_edits *edits)
{
	size_t total = msg->forged_lost ? msg->ar_count : msg->nforged, k = 0;

	total += msg->aar_lost ? msg->aar_count : msg->naar_forged;
	if (msg->spam_lost)
		return -1;
	for (size_t i = 0; i < msg->nspam; i++)
		total += msg->spam[i].count;
	if (total == 0)
		return 0;
	if ((edits->remove = calloc(total, sizeof(*edits->remove))) == NULL)
		return -1;
	if (msg->forged_lost) /* which were ours is unknown: all go */
		for (unsigned n = msg->ar_count; n > 0; n--)
			edits->remove[k++] = (struct header_removal){
			    "Authentication-Results", n};
	else
		for (size_t i = msg->nforged; i > 0; i--)
			edits->remove[k++] = (struct header_removal){
			    "Authentication-Results", msg->forged[i - 1]};
	if (msg->aar_lost)
		for (unsigned n = msg->aar_count; n > 0; n--)
			edits->remove[k++] = (struct header_removal){
			    "ARC-Authentication-Results", n};
	else
		for (size_t i = msg->naar_forged; i > 0; i--)
			edits->remove[k++] = (struct header_removal){
			    "ARC-Authentication-Results", msg->aar_forged[i - 1]};
	for (size_t i = 0; i < msg->nspam; i++)
		for (unsigned n = msg->spam[i].count; n > 0; n--)
			edits->remove[k++] =
			    (struct header_removal){msg->spam[i].name, n};
	edits->nremove = k;
	return 0;
}

/* engine_action_set - fill an action; text is cleaned for an SMTP reply
 * (printable ASCII, no '%', which smfi_setreply treats as a format) */
static void
engine_action_set(struct engine_action *act, enum engine_action_kind kind,
		  const char *code, const char *xcode, const char *text)
{
	size_t i = 0;

	act->kind = kind;
	snprintf(act->code, sizeof(act->code), "%s", code);
	snprintf(act->xcode, sizeof(act->xcode), "%s", xcode);
	for (; text[i] != '\0' && i + 1 < sizeof(act->text); i++) {
		unsigned char c = (unsigned char)text[i];

		act->text[i] = c >= 32 && c < 127 && c != '%' ? (char)c : '?';
	}
	act->text[i] = '\0';
}

/* engine_tempfail - edits that only tempfail the message */
void
engine_tempfail(struct engine_edits *edits, const char *why)
{
	char text[200];

	snprintf(text, sizeof(text), "Temporary local problem (%s), try again later",
		 why);
	engine_action_set(&edits->action, ENGINE_TEMPFAIL, "451", "4.3.0",
			  text);
}

/* engine_action_name - the word for an action, for logs */
const char *
engine_action_name(enum engine_action_kind kind)
{
	switch (kind) {
	case ENGINE_ACCEPT:
		return "accept";
	case ENGINE_REJECT:
		return "reject";
	case ENGINE_QUARANTINE:
		return "quarantine";
	case ENGINE_TEMPFAIL:
		return "tempfail";
	}
	return "accept";
}

/*
 * engine_msg_decide - what DMARC asks of this message (dmarc_action:
 * RejectFailures turns a fail under reject or quarantine into that,
 * DMARCTempError tempfail a temperror into 451, never a reject); never
 * for trusted or authenticated clients, local submission, or results we
 * could not complete
 */
void
engine_msg_decide(const struct engine_msg *msg, struct engine_edits *edits)
{
	const struct engine_conn *conn = msg->conn;
	const struct dmarc_outcome *d = &msg->results.dmarc;
	char text[RES_DOMAIN_MAX + 80];

	if (engine_conn_is_trusted(conn) || msg->local || edits->incomplete ||
	    !d->checked)
		return;
	switch (dmarc_action(conn->eng->cfg, d)) {
	case DMARC_ACT_REJECT:
		snprintf(text, sizeof(text),
			 "Message rejected by the DMARC policy of %s",
			 d->from_domain);
		engine_action_set(&edits->action, ENGINE_REJECT, "550", "5.7.1",
				  text);
		break;
	case DMARC_ACT_QUARANTINE:
		snprintf(text, sizeof(text),
			 "quarantined by the DMARC policy of %s",
			 d->from_domain);
		engine_action_set(&edits->action, ENGINE_QUARANTINE, "", "",
				  text);
		break;
	case DMARC_ACT_TEMPFAIL:
		snprintf(text, sizeof(text),
			 "DNS error checking the DMARC policy of %s, try again "
			 "later",
			 d->from_domain[0] != '\0' ? d->from_domain
						   : "the author");
		engine_action_set(&edits->action, ENGINE_TEMPFAIL, "451",
				  "4.4.3", text);
		break;
	case DMARC_ACT_ACCEPT:
		break;
	}
}

/*
 * engine_edits_cut - keep every inserted header under ENGINE_HEADER_MAX
 * (libmilter refuses a 64 KiB packet, Postfix cuts lines at 60,000): cut
 * at a result boundary, so what remains is a valid header with fewer
 * results
 */
void
engine_edits_cut(struct engine_edits *edits)
{
	for (size_t i = 0; i < edits->ninsert; i++) {
		struct header_edit *h = &edits->insert[i];
		size_t len = strlen(h->value), nlen = strlen(h->name);
		char *semi;

		if (len + nlen < ENGINE_HEADER_MAX)
			continue;
		semi = h->value + ENGINE_HEADER_MAX - nlen - 2;
		while (semi > h->value && *semi != ';')
			semi--;
		*semi = '\0';
		edits->cut_from = len;
		edits->cut_index = i;
	}
}

/* engine_edits_drop_inserts - forget every header to insert */
void
engine_edits_drop_inserts(struct engine_edits *edits)
{
	for (size_t i = 0; i < edits->ninsert; i++) {
		free(edits->insert[i].name);
		free(edits->insert[i].value);
	}
	free(edits->insert);
	edits->insert = NULL;
	edits->ninsert = 0;
}

/* engine_edits_free - free what engine_msg_eom put in edits */
void
engine_edits_free(struct engine_edits *edits)
{
	engine_edits_drop_inserts(edits);
	free(edits->remove);
	memset(edits, 0, sizeof(*edits));
}
