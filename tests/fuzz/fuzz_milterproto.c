/*
 * fuzz_milterproto.c - libFuzzer harness for milter/proto.c, the milter
 * protocol codec of the daemon
 *
 * The input is what an MTA (or anything that reaches the socket) sends:
 * a byte stream cut into frames exactly as server.c cuts it. Each whole
 * frame is decoded and goes through the protocol state; a macro list is
 * walked. Checked beyond the sanitizers: a frame length is the 4-byte
 * field plus 4, within MPROTO_FRAME_MAX; every decoded string lies
 * inside its frame and ends there; a state stays one of the states; and
 * replies built from decoded strings decode again to the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "strbuf.h"

/* inside - does the string s end (with its NUL) within the frame? */
static void
inside(const unsigned char *f, size_t len, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (p < f || p >= f + len || memchr(p, '\0', (size_t)(f + len - p)) == NULL)
		abort();
}

/* roundtrip - an insert-header reply of name/value decodes back */
static void
roundtrip(const char *name, const char *value)
{
	struct strbuf out = STRBUF_INIT;
	long n;

	mproto_put_header(&out, MPR_INSHEADER, 7, name, value);
	if (sb_failed(&out))
		abort();
	n = mproto_frame_len((const unsigned char *)out.s, out.len);
	if (n != (long)out.len || out.s[4] != MPR_INSHEADER ||
	    memcmp(out.s + 9, name, strlen(name) + 1) != 0 ||
	    memcmp(out.s + 10 + strlen(name), value, strlen(value) + 1) != 0)
		abort();
	sb_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum mproto_state state = MPS_INIT;
	uint32_t steps = 0; /* as agreed: what the MTA offered (OPTNEG) */
	size_t off = 0;

	while (off < size) {
		long n = mproto_frame_len(data + off, size - off);
		struct mproto_cmd cmd;
		struct mproto_step st;

		if (n < 0 || n == 0 || (size_t)n > size - off)
			break;
		if (n < 5 || n > MPROTO_FRAME_MAX + 4)
			abort();
		if (mproto_decode(data + off, (size_t)n, &cmd) == 0) {
			const unsigned char *f = data + off;

			if (cmd.data != (const char *)f + 5 ||
			    cmd.len != (size_t)n - 5)
				abort();
			switch (cmd.code) {
			case MPC_CONNECT:
				inside(f, (size_t)n, cmd.u.connect.host);
				if (cmd.u.connect.family != 'U')
					inside(f, (size_t)n, cmd.u.connect.addr);
				break;
			case MPC_HELO:
			case MPC_MAIL:
			case MPC_RCPT:
				inside(f, (size_t)n, cmd.u.str.arg);
				break;
			case MPC_HEADER:
				inside(f, (size_t)n, cmd.u.header.name);
				inside(f, (size_t)n, cmd.u.header.value);
				roundtrip(cmd.u.header.name, cmd.u.header.value);
				break;
			case MPC_MACRO: {
				const char *name, *value;
				size_t pos = 0, nl, count = 0;

				while (mproto_macro_next(cmd.u.macro.pairs,
							 cmd.u.macro.len, &pos,
							 &name, &nl, &value)) {
					if (pos > cmd.u.macro.len ||
					    ++count > cmd.u.macro.len)
						abort();
					inside(f, (size_t)n, value);
				}
				break;
			}
			default:
				break;
			}
			if (cmd.code == MPC_OPTNEG && state == MPS_INIT)
				steps = cmd.u.optneg.steps;
			st = mproto_transition(&state, cmd.code, steps);
			if (state > MPS_QUIT_NC || (st.end && cmd.code != MPC_QUIT))
				abort();
			if (st.run && cmd.code == MPC_BODYEOB)
				mproto_after_verdict(&state, cmd.code);
		}
		off += (size_t)n;
	}
	return 0;
}
