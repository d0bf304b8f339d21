/*
 * proto.h - the milter protocol as Postfix 3.x and Sendmail 8.14+ speak
 * it (protocol version 6): a pure codec, see proto.c
 *
 * Bytes in, commands and protocol-state verdicts out; replies are
 * encoded into a strbuf. No descriptor, no thread, no allocation but the
 * caller's buffer: server.c does the I/O, the fuzz harness feeds it
 * anything. Each frame on the wire is a 4-byte big-endian length
 * (counting the command byte), one command byte, then its data.
 */
#ifndef AUTHTAG_MILTER_PROTO_H
#define AUTHTAG_MILTER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;

#define MPROTO_VERSION 6 /* the newest version; Postfix and Sendmail send 6 */
#define MPROTO_VERSION_MIN 2
/* the largest frame we take: the biggest size the protocol can agree
 * (1 MB); Postfix's body chunks and header fields stay far below */
#define MPROTO_FRAME_MAX (1024 * 1024)

/* commands, MTA to filter */
#define MPC_ABORT 'A'
#define MPC_BODY 'B'
#define MPC_CONNECT 'C'
#define MPC_MACRO 'D'
#define MPC_BODYEOB 'E'
#define MPC_HELO 'H'
#define MPC_QUIT_NC 'K'
#define MPC_HEADER 'L'
#define MPC_MAIL 'M'
#define MPC_EOH 'N'
#define MPC_OPTNEG 'O'
#define MPC_QUIT 'Q'
#define MPC_RCPT 'R'
#define MPC_DATA 'T'
#define MPC_UNKNOWN 'U'

/* replies and edits, filter to MTA */
#define MPR_ADDRCPT '+'
#define MPR_DELRCPT '-'
#define MPR_ACCEPT 'a'
#define MPR_CONTINUE 'c'
#define MPR_DISCARD 'd'
#define MPR_ADDHEADER 'h'
#define MPR_INSHEADER 'i'
#define MPR_CHGHEADER 'm'
#define MPR_PROGRESS 'p'
#define MPR_QUARANTINE 'q'
#define MPR_REJECT 'r'
#define MPR_TEMPFAIL 't'
#define MPR_REPLYCODE 'y'
#define MPR_OPTNEG 'O'

/* actions a filter may take (negotiated) */
#define MPA_ADDHDRS 0x001
#define MPA_CHGBODY 0x002
#define MPA_ADDRCPT 0x004
#define MPA_DELRCPT 0x008
#define MPA_CHGHDRS 0x010
#define MPA_QUARANTINE 0x020
#define MPA_CHGFROM 0x040
#define MPA_ADDRCPT_PAR 0x080
#define MPA_SETSYMLIST 0x100

/* protocol steps: NO* skip a command, NR_* drop its reply */
#define MPP_NOCONNECT 0x000001
#define MPP_NOHELO 0x000002
#define MPP_NOMAIL 0x000004
#define MPP_NORCPT 0x000008
#define MPP_NOBODY 0x000010
#define MPP_NOHDRS 0x000020
#define MPP_NOEOH 0x000040
#define MPP_NR_HDR 0x000080
#define MPP_NOUNKNOWN 0x000100
#define MPP_NODATA 0x000200
#define MPP_SKIP 0x000400
#define MPP_RCPT_REJ 0x000800
#define MPP_NR_CONN 0x001000
#define MPP_NR_HELO 0x002000
#define MPP_NR_MAIL 0x004000
#define MPP_NR_RCPT 0x008000
#define MPP_NR_DATA 0x010000
#define MPP_NR_UNKN 0x020000
#define MPP_NR_EOH 0x040000
#define MPP_NR_BODY 0x080000
#define MPP_HDR_LEADSPC 0x100000

/* the stages a filter may ask macros for (the symbol list) */
enum mproto_stage {
	MPM_CONNECT = 0,
	MPM_HELO = 1,
	MPM_ENVFROM = 2,
	MPM_ENVRCPT = 3,
	MPM_DATA = 4,
	MPM_EOM = 5,
	MPM_EOH = 6,
	MPM_COUNT = 7,
};

/* one decoded command; every pointer points into the frame */
struct mproto_cmd {
	char code;          /* MPC_* (or anything, for an unknown one) */
	const char *data;   /* the bytes after the command byte */
	size_t len;
	union {
		struct {
			uint32_t version, actions, steps;
		} optneg;
		struct {
			char for_cmd;      /* the command these are for */
			const char *pairs; /* name\0value\0 ... */
			size_t len;
		} macro;
		struct {
			const char *host;
			char family; /* 'U' unknown, 'L' unix, '4', '6' */
			uint16_t port;
			const char *addr; /* "" unless family is 4 or 6 */
		} connect;
		struct {
			const char *arg; /* HELO name, MAIL/RCPT address */
		} str;
		struct {
			const char *name, *value;
		} header;
	} u;
};

/* mproto_frame_len - from the first bytes of a frame, its total length
 * (length field included): 0 while fewer than 4 bytes are there, -1 for
 * an empty or oversized frame (the connection cannot go on) */
long mproto_frame_len(const unsigned char *buf, size_t have);

/* mproto_decode - decode one whole frame; 0, or -1 when its data does
 * not have the shape its command needs (missing terminators, short
 * option negotiation) */
int mproto_decode(const unsigned char *frame, size_t len,
		  struct mproto_cmd *cmd);

/* mproto_macro_next - the next name/value pair of a macro list at *pos;
 * names come without braces ("{auth_authen}" -> "auth_authen"). false
 * at the end */
bool mproto_macro_next(const char *pairs, size_t len, size_t *pos,
		       const char **name, size_t *namelen, const char **value);

/* mproto_macro_stage - the macro stage a command's macros belong to, or
 * -1 for one whose macros nobody asks for */
int mproto_macro_stage(char cmd);

/* ---- protocol state: which command may follow which ---------------- */

enum mproto_state {
	MPS_INIT,
	MPS_OPTS,
	MPS_CONN,
	MPS_HELO,
	MPS_MAIL,
	MPS_RCPT,
	MPS_DATA,
	MPS_HDRS,
	MPS_EOHS,
	MPS_BODY,
	MPS_ENDM,
	MPS_QUIT,
	MPS_ABRT,
	MPS_UNKN,
	MPS_QUIT_NC,
};

/* what to do with a command in the current state */
struct mproto_step {
	bool known;    /* false: a command nobody knows (drop the connection) */
	bool abort;    /* the open message ends first (abort callback) */
	bool run;      /* false: ignore the command, send nothing */
	bool end;      /* the connection ends after it (QUIT) */
};

/* mproto_transition - decide about cmd in *state, and move *state; steps
 * are the agreed SMFIP_* flags (the NO* ones let commands be missing) */
struct mproto_step mproto_transition(enum mproto_state *state, char cmd,
				     uint32_t steps);

/* mproto_in_message - is a message open in this state? */
bool mproto_in_message(enum mproto_state state);

/* mproto_after_verdict - the state after a final verdict (accept,
 * reject, tempfail, discard) to cmd: the message is over */
void mproto_after_verdict(enum mproto_state *state, char cmd);

/* mproto_nr_flag - the NR_* step flag of a command's reply, 0 if none */
uint32_t mproto_nr_flag(char cmd);

/* mproto_wants_reply - does cmd get a reply at all (before NR_*)? */
bool mproto_wants_reply(char cmd);

/* ---- replies ------------------------------------------------------ */

/* mproto_put - append a frame: code and len bytes of data */
void mproto_put(struct strbuf *out, char code, const void *data, size_t len);

/* mproto_put_str - append a frame whose data is a string and its NUL
 * (quarantine reason, reply code text) */
void mproto_put_str(struct strbuf *out, char code, const char *s);

/* mproto_put_header - append an add/insert/change header frame: index
 * (not for add), name\0 value\0; an empty value with MPR_CHGHEADER
 * removes the field */
void mproto_put_header(struct strbuf *out, char code, uint32_t index,
		       const char *name, const char *value);

/* mproto_put_optneg - append the option negotiation reply, with the
 * macro lists (NULL entries skipped) when symlists is not NULL */
void mproto_put_optneg(struct strbuf *out, uint32_t version, uint32_t actions,
		       uint32_t steps, const char *const *symlists);

#endif
