/*
 * proto.c - the milter protocol codec: frames, commands, states, replies
 *
 * Owns nothing: every decoded pointer points into the caller's frame,
 * every reply is appended to the caller's strbuf. What a command may
 * follow is the protocol's own rule (a filter that gets a command out of
 * order ends the open message and, if the command cannot start a new
 * one, ignores it without a reply), so that an MTA, miltertest or a
 * hostile client sees the behaviour it knows from libmilter-based
 * filters.
 */
#include "build.h" /* first: feature macros */

#include <string.h>

#include "proto.h"
#include "strbuf.h"

/* get32 - a big-endian 32-bit number */
static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* put32 - append a big-endian 32-bit number */
static void
put32(struct strbuf *out, uint32_t v)
{
	unsigned char b[4] = {v >> 24, v >> 16, v >> 8, v};

	sb_putn(out, b, 4);
}

/* mproto_frame_len - the whole frame's length, once 4 bytes are here */
long
mproto_frame_len(const unsigned char *buf, size_t have)
{
	uint32_t n;

	if (have < 4)
		return 0;
	n = get32(buf);
	if (n == 0 || n > MPROTO_FRAME_MAX)
		return -1;
	return (long)n + 4;
}

/* str_at - the NUL-terminated string at data[*pos], moving *pos past
 * it; NULL when there is no terminator before the end */
static const char *
str_at(const char *data, size_t len, size_t *pos)
{
	const char *s, *nul;

	if (*pos >= len)
		return NULL;
	s = data + *pos;
	if ((nul = memchr(s, '\0', len - *pos)) == NULL)
		return NULL;
	*pos += (size_t)(nul - s) + 1;
	return s;
}

/* decode_connect - host\0 family [port address\0] */
static int
decode_connect(struct mproto_cmd *cmd)
{
	size_t pos = 0;

	cmd->u.connect.addr = "";
	cmd->u.connect.port = 0;
	if ((cmd->u.connect.host = str_at(cmd->data, cmd->len, &pos)) == NULL ||
	    pos >= cmd->len)
		return -1;
	cmd->u.connect.family = cmd->data[pos++];
	if (cmd->u.connect.family == 'U')
		return 0;
	if (pos + 2 > cmd->len)
		return -1;
	cmd->u.connect.port = (uint16_t)((unsigned char)cmd->data[pos] << 8 |
					 (unsigned char)cmd->data[pos + 1]);
	pos += 2;
	if ((cmd->u.connect.addr = str_at(cmd->data, cmd->len, &pos)) == NULL)
		return -1;
	return 0;
}

/* mproto_decode - decode one whole frame */
int
mproto_decode(const unsigned char *frame, size_t len, struct mproto_cmd *cmd)
{
	size_t pos = 0;
	long want = mproto_frame_len(frame, len);

	memset(cmd, 0, sizeof(*cmd));
	if (want < 5 || (size_t)want != len)
		return -1;
	cmd->code = (char)frame[4];
	cmd->data = (const char *)frame + 5;
	cmd->len = len - 5;
	switch (cmd->code) {
	case MPC_OPTNEG:
		if (cmd->len < 12)
			return -1;
		cmd->u.optneg.version = get32(frame + 5);
		cmd->u.optneg.actions = get32(frame + 9);
		cmd->u.optneg.steps = get32(frame + 13);
		return 0;
	case MPC_MACRO:
		if (cmd->len < 1)
			return -1;
		cmd->u.macro.for_cmd = cmd->data[0];
		cmd->u.macro.pairs = cmd->data + 1;
		cmd->u.macro.len = cmd->len - 1;
		return 0;
	case MPC_CONNECT:
		return decode_connect(cmd);
	case MPC_HELO:
	case MPC_MAIL:
	case MPC_RCPT:
	case MPC_UNKNOWN:
		/* MAIL and RCPT carry ESMTP arguments after the address */
		cmd->u.str.arg = str_at(cmd->data, cmd->len, &pos);
		return cmd->u.str.arg != NULL ? 0 : -1;
	case MPC_HEADER:
		cmd->u.header.name = str_at(cmd->data, cmd->len, &pos);
		cmd->u.header.value = str_at(cmd->data, cmd->len, &pos);
		return cmd->u.header.value != NULL ? 0 : -1;
	default:
		/* body bytes, or no data that matters */
		return 0;
	}
}

/* mproto_macro_next - the next name/value pair, braces stripped */
bool
mproto_macro_next(const char *pairs, size_t len, size_t *pos,
		  const char **name, size_t *namelen, const char **value)
{
	const char *n = str_at(pairs, len, pos), *v;
	size_t nl;

	if (n == NULL || (v = str_at(pairs, len, pos)) == NULL)
		return false;
	nl = strlen(n);
	if (nl >= 2 && n[0] == '{' && n[nl - 1] == '}') {
		n++;
		nl -= 2;
	}
	*name = n;
	*namelen = nl;
	*value = v;
	return true;
}

/* mproto_macro_stage - the stage whose macros a MACRO command carries */
int
mproto_macro_stage(char cmd)
{
	switch (cmd) {
	case MPC_CONNECT:
		return MPM_CONNECT;
	case MPC_HELO:
		return MPM_HELO;
	case MPC_MAIL:
		return MPM_ENVFROM;
	case MPC_RCPT:
		return MPM_ENVRCPT;
	case MPC_DATA:
		return MPM_DATA;
	case MPC_EOH:
		return MPM_EOH;
	case MPC_BODYEOB:
		return MPM_EOM;
	default:
		return -1;
	}
}

#define B(s) (1u << (s))

/* next_states - the states that may follow st */
static unsigned
next_states(enum mproto_state st)
{
	switch (st) {
	case MPS_INIT:
		return B(MPS_OPTS);
	case MPS_OPTS:
	case MPS_QUIT_NC:
		return B(MPS_CONN) | B(MPS_UNKN);
	case MPS_CONN:
	case MPS_HELO:
		return B(MPS_HELO) | B(MPS_MAIL) | B(MPS_UNKN);
	case MPS_MAIL:
		return B(MPS_RCPT) | B(MPS_ABRT) | B(MPS_UNKN);
	case MPS_RCPT:
		/* the MTA may skip any step up to the end of the message */
		return B(MPS_RCPT) | B(MPS_DATA) | B(MPS_HDRS) | B(MPS_EOHS) |
		       B(MPS_BODY) | B(MPS_ENDM) | B(MPS_ABRT) | B(MPS_UNKN);
	case MPS_DATA:
	case MPS_HDRS:
		return B(MPS_HDRS) | B(MPS_EOHS) | B(MPS_ABRT);
	case MPS_EOHS:
		return B(MPS_BODY) | B(MPS_ENDM) | B(MPS_ABRT);
	case MPS_BODY:
		return B(MPS_BODY) | B(MPS_ENDM) | B(MPS_ABRT);
	case MPS_ENDM:
		return B(MPS_MAIL) | B(MPS_QUIT) | B(MPS_QUIT_NC) | B(MPS_UNKN);
	case MPS_UNKN:
		return B(MPS_HELO) | B(MPS_MAIL) | B(MPS_RCPT) | B(MPS_DATA) |
		       B(MPS_BODY) | B(MPS_ABRT) | B(MPS_UNKN) | B(MPS_QUIT) |
		       B(MPS_QUIT_NC);
	case MPS_QUIT:
	case MPS_ABRT:
		return 0;
	}
	return 0;
}

/* succ - the step the MTA takes next after st when it skips none; the
 * end of a message leads to the next one's MAIL */
static int
succ(enum mproto_state st)
{
	switch (st) {
	case MPS_OPTS:
	case MPS_CONN:
	case MPS_HELO:
	case MPS_MAIL:
	case MPS_RCPT:
	case MPS_DATA:
	case MPS_HDRS:
	case MPS_EOHS:
	case MPS_BODY:
		return (int)st + 1;
	case MPS_ENDM:
		return MPS_MAIL;
	default:
		return -1;
	}
}

/* skippable - was the MTA told it may leave out this step's command?
 * (HELO, DATA, headers and body may be absent anyway; the others only
 * when the filter asked for that with SMFIP_NO*) */
static bool
skippable(int st, uint32_t steps)
{
	switch (st) {
	case MPS_CONN:
		return steps & MPP_NOCONNECT;
	case MPS_MAIL:
		return steps & MPP_NOMAIL;
	case MPS_RCPT:
		return steps & MPP_NORCPT;
	case MPS_EOHS:
		return steps & MPP_NOEOH;
	case MPS_HELO:
	case MPS_DATA:
	case MPS_HDRS:
	case MPS_BODY:
		return true;
	default:
		return false;
	}
}

/* may_follow - may the command of state next come in state st, steps
 * the MTA may skip passed over (at most the ten steps of a message) */
static bool
may_follow(enum mproto_state st, int next, uint32_t steps)
{
	int s = (int)st;

	for (int k = 0; k < 10 && s >= 0; k++) {
		if (next_states((enum mproto_state)s) & B(next))
			return true;
		s = succ((enum mproto_state)s);
		if (s < 0 || !skippable(s, steps))
			return false;
	}
	return false;
}

/* cmd_state - the state a command moves to; -1 for none (macros), -2
 * for a command nobody knows */
static int
cmd_state(char cmd)
{
	switch (cmd) {
	case MPC_OPTNEG:
		return MPS_OPTS;
	case MPC_CONNECT:
		return MPS_CONN;
	case MPC_HELO:
		return MPS_HELO;
	case MPC_MAIL:
		return MPS_MAIL;
	case MPC_RCPT:
		return MPS_RCPT;
	case MPC_DATA:
		return MPS_DATA;
	case MPC_HEADER:
		return MPS_HDRS;
	case MPC_EOH:
		return MPS_EOHS;
	case MPC_BODY:
		return MPS_BODY;
	case MPC_BODYEOB:
		return MPS_ENDM;
	case MPC_ABORT:
		return MPS_ABRT;
	case MPC_QUIT:
		return MPS_QUIT;
	case MPC_QUIT_NC:
		return MPS_QUIT_NC;
	case MPC_UNKNOWN:
		return MPS_UNKN;
	case MPC_MACRO:
		return -1;
	default:
		return -2;
	}
}

/* mproto_in_message - is a message open in this state? */
bool
mproto_in_message(enum mproto_state state)
{
	return state >= MPS_MAIL && state < MPS_ENDM;
}

/* mproto_transition - decide about cmd in *state, and move *state */
struct mproto_step
mproto_transition(enum mproto_state *state, char cmd, uint32_t steps)
{
	struct mproto_step st = {.known = true, .run = true};
	int next = cmd_state(cmd);

	if (next == -2) {
		st.known = false;
		st.run = false;
		st.abort = mproto_in_message(*state);
		return st;
	}
	st.end = cmd == MPC_QUIT;
	if (next == -1)
		return st;
	if (!may_follow(*state, next, steps)) {
		/* out of order: the open message is over; the command
		 * counts only if it could follow a finished message */
		st.abort = mproto_in_message(*state);
		*state = MPS_HELO;
		if (!may_follow(*state, next, steps)) {
			st.run = false;
			return st;
		}
	}
	*state = (enum mproto_state)next;
	return st;
}

/* mproto_after_verdict - a final verdict ends the message (a rejected
 * recipient ends only itself) */
void
mproto_after_verdict(enum mproto_state *state, char cmd)
{
	if (cmd != MPC_RCPT)
		*state = MPS_HELO;
}

/* mproto_nr_flag - the NR_* flag of a command's reply */
uint32_t
mproto_nr_flag(char cmd)
{
	switch (cmd) {
	case MPC_CONNECT:
		return MPP_NR_CONN;
	case MPC_HELO:
		return MPP_NR_HELO;
	case MPC_MAIL:
		return MPP_NR_MAIL;
	case MPC_RCPT:
		return MPP_NR_RCPT;
	case MPC_DATA:
		return MPP_NR_DATA;
	case MPC_UNKNOWN:
		return MPP_NR_UNKN;
	case MPC_HEADER:
		return MPP_NR_HDR;
	case MPC_EOH:
		return MPP_NR_EOH;
	case MPC_BODY:
		return MPP_NR_BODY;
	default:
		return 0;
	}
}

/* mproto_wants_reply - commands that are answered at all */
bool
mproto_wants_reply(char cmd)
{
	return mproto_nr_flag(cmd) != 0 || cmd == MPC_BODYEOB ||
	       cmd == MPC_OPTNEG;
}

/* mproto_put - append a frame */
void
mproto_put(struct strbuf *out, char code, const void *data, size_t len)
{
	put32(out, (uint32_t)len + 1);
	sb_putc(out, code);
	if (len > 0)
		sb_putn(out, data, len);
}

/* mproto_put_str - a frame whose data is a string and its NUL */
void
mproto_put_str(struct strbuf *out, char code, const char *s)
{
	mproto_put(out, code, s, strlen(s) + 1);
}

/* mproto_put_header - index (not for MPR_ADDHEADER), name\0 value\0 */
void
mproto_put_header(struct strbuf *out, char code, uint32_t index,
		  const char *name, const char *value)
{
	size_t nl = strlen(name) + 1, vl = strlen(value) + 1;
	bool indexed = code != MPR_ADDHEADER;

	put32(out, (uint32_t)(1 + (indexed ? 4 : 0) + nl + vl));
	sb_putc(out, code);
	if (indexed)
		put32(out, index);
	sb_putn(out, name, nl);
	sb_putn(out, value, vl);
}

/* mproto_put_optneg - version, actions, steps, then stage\0list pairs */
void
mproto_put_optneg(struct strbuf *out, uint32_t version, uint32_t actions,
		  uint32_t steps, const char *const *symlists)
{
	size_t len = 12;

	for (int i = 0; symlists != NULL && i < MPM_COUNT; i++)
		if (symlists[i] != NULL)
			len += 4 + strlen(symlists[i]) + 1;
	put32(out, (uint32_t)len + 1);
	sb_putc(out, MPR_OPTNEG);
	put32(out, version);
	put32(out, actions);
	put32(out, steps);
	for (int i = 0; symlists != NULL && i < MPM_COUNT; i++) {
		if (symlists[i] == NULL)
			continue;
		put32(out, (uint32_t)i);
		sb_putn(out, symlists[i], strlen(symlists[i]) + 1);
	}
}
