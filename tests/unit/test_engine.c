/*
 * test_engine.c - unit tests of lib/engine.c, the one door
 *
 * Drives the engine as the milter and authtag-check do (connection,
 * envelope, headers, body, end of message) on hermetic DNS data and
 * checks what the programs only apply: the headers to insert and their
 * order, the headers to remove and their indexes, the action under
 * RejectFailures, and the defined results of calls out of order or
 * after an error.
 */
#include "build.h" /* first: feature macros */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "engine.h"
#include "testutil.h"

static const char dns_conf[] =
    "server:\n"
    "    local-zone: \".\" static\n"
    "    local-data: 'example.com. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 "
    "-all\"'\n"
    "    local-data: '_dmarc.example.com. 300 IN TXT \"v=DMARC1; "
    "p=reject\"'\n"
    "    local-data: 'quar.example.net. 300 IN TXT \"v=spf1 -all\"'\n"
    "    local-data: '_dmarc.quar.example.net. 300 IN TXT \"v=DMARC1; "
    "p=quarantine\"'\n";

struct fixture {
	char *dns_path;
	struct config *cfg;
	struct engine *eng;
};

/* setup - an engine on hermetic DNS, our id mx.example.org */
static int
setup_with(void **state, bool reject)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	f->dns_path = testutil_write_temp(dns_conf);
	f->cfg = testutil_hermetic_config(f->dns_path);
	assert_non_null(f->cfg);
	free(f->cfg->authserv_id);
	f->cfg->authserv_id = strdup("mx.example.org");
	free(f->cfg->rules_dir);
	assert_true(asprintf(&f->cfg->rules_dir, "%s/rules",
			     testutil_srcdir()) > 0);
	f->cfg->reject_failures = reject;
	f->eng = engine_new(f->cfg, err, sizeof(err));
	if (f->eng == NULL)
		fail_msg("engine_new: %s", err);
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_with(state, false);
}

static int
setup_reject(void **state)
{
	return setup_with(state, true);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	engine_free(f->eng);
	config_free(f->cfg);
	unlink(f->dns_path);
	free(f->dns_path);
	free(f);
	return 0;
}

/* run - one message: headers as "Name: value" strings, NULL-ended */
static int
run(struct engine *eng, const char *ip, const char *auth, bool local,
    const char *mail_from, const char *const *headers,
    struct engine_edits *edits, struct engine_conn **connp,
    struct engine_msg **msgp)
{
	struct engine_conn *conn = engine_conn_new(eng, ip);
	struct engine_msg *msg;

	assert_non_null(conn);
	engine_conn_helo(conn, "client.example.net");
	if (auth != NULL)
		engine_conn_auth(conn, auth);
	msg = engine_msg_new(conn);
	assert_non_null(msg);
	if (local)
		engine_msg_local(msg);
	engine_msg_mailfrom(msg, mail_from);
	engine_msg_rcpt(msg, "<bob@example.org>");
	for (size_t i = 0; headers[i] != NULL; i++) {
		const char *colon = strchr(headers[i], ':');
		char *name = strndup(headers[i], (size_t)(colon - headers[i]));

		engine_msg_header(msg, name, colon + 1);
		free(name);
	}
	engine_msg_eoh(msg);
	engine_msg_body(msg, (const unsigned char *)"Hello.\r\n", 8);
	*connp = conn;
	*msgp = msg;
	return engine_msg_eom(msg, edits);
}

/* done - free what run made */
static void
done(struct engine_edits *edits, struct engine_conn *conn,
     struct engine_msg *msg)
{
	engine_edits_free(edits);
	engine_msg_free(msg);
	engine_conn_free(conn);
}

static const char *const forgery[] = {
    "Authentication-Results: other.example.net; spf=pass",
    "Authentication-Results: mx.example.org; dmarc=pass",
    "X-Spam-Status: No, score=-5",
    "Authentication-Results: MX.Example.Org; dkim=pass",
    "X-Spam-Flag: NO",
    "x-spam-status: No",
    "From: Bank <ceo@example.com>",
    "Subject: hello",
    NULL,
};

/* the edits: ours at the top in order; forged ones removed, highest
 * index first per name; foreign A-R kept */
static void
test_edits(void **state)
{
	struct fixture *f = *state;
	struct engine_edits ed;
	struct engine_conn *conn;
	struct engine_msg *msg;

	assert_int_equal(run(f->eng, "203.0.113.9", NULL, false,
			     "<ceo@example.com>", forgery, &ed, &conn, &msg),
			 0);
	assert_int_equal(ed.action.kind, ENGINE_ACCEPT);
	assert_false(ed.incomplete);
	assert_int_equal(ed.ninsert, 5);
	assert_string_equal(ed.insert[0].name, "Authentication-Results");
	assert_true(strncmp(ed.insert[0].value, "mx.example.org;", 15) == 0);
	assert_non_null(strstr(ed.insert[0].value, "spf=fail"));
	assert_non_null(strstr(ed.insert[0].value, "dmarc=fail"));
	assert_string_equal(ed.insert[1].name, "X-Spam-Flag");
	assert_string_equal(ed.insert[1].value, "YES");
	assert_string_equal(ed.insert[2].name, "X-Spam-Status");
	assert_string_equal(ed.insert[3].name, "X-Spam-Score");
	assert_string_equal(ed.insert[4].name, "X-Spam-Level");
	assert_int_equal(ed.nremove, 5);
	assert_string_equal(ed.remove[0].name, "Authentication-Results");
	assert_int_equal(ed.remove[0].index, 3);
	assert_string_equal(ed.remove[1].name, "Authentication-Results");
	assert_int_equal(ed.remove[1].index, 2);
	assert_string_equal(ed.remove[2].name, "X-Spam-Status");
	assert_int_equal(ed.remove[2].index, 2);
	assert_string_equal(ed.remove[3].name, "X-Spam-Status");
	assert_int_equal(ed.remove[3].index, 1);
	assert_string_equal(ed.remove[4].name, "X-Spam-Flag");
	assert_int_equal(ed.remove[4].index, 1);
	assert_string_equal(engine_msg_from_domain(msg), "example.com");
	assert_string_equal(engine_msg_mail_domain(msg), "example.com");
	done(&ed, conn, msg);
}

/* RejectFailures: p=reject fails are rejected with 550 5.7.1 */
static void
test_action_reject(void **state)
{
	struct fixture *f = *state;
	struct engine_edits ed;
	struct engine_conn *conn;
	struct engine_msg *msg;

	assert_int_equal(run(f->eng, "203.0.113.9", NULL, false,
			     "<ceo@example.com>", forgery, &ed, &conn, &msg),
			 0);
	assert_int_equal(ed.action.kind, ENGINE_REJECT);
	assert_string_equal(ed.action.code, "550");
	assert_string_equal(ed.action.xcode, "5.7.1");
	assert_string_equal(ed.action.text,
			    "Message rejected by the DMARC policy of "
			    "example.com");
	assert_string_equal(engine_action_name(ed.action.kind), "reject");
	/* the edits are still there: the forged headers go either way */
	assert_int_equal(ed.nremove, 5);
	done(&ed, conn, msg);
}

/* RejectFailures: p=quarantine fails are held with a reason */
static void
test_action_quarantine(void **state)
{
	struct fixture *f = *state;
	static const char *const hdrs[] = {"From: <a@quar.example.net>",
					   NULL};
	struct engine_edits ed;
	struct engine_conn *conn;
	struct engine_msg *msg;

	assert_int_equal(run(f->eng, "203.0.113.9", NULL, false,
			     "<a@quar.example.net>", hdrs, &ed, &conn, &msg),
			 0);
	assert_int_equal(ed.action.kind, ENGINE_QUARANTINE);
	assert_string_equal(ed.action.text,
			    "quarantined by the DMARC policy of "
			    "quar.example.net");
	done(&ed, conn, msg);
}

/* RejectFailures never rejects trusted, authenticated or local mail */
static void
test_action_exempt(void **state)
{
	struct fixture *f = *state;
	struct engine_edits ed;
	struct engine_conn *conn;
	struct engine_msg *msg;

	run(f->eng, "127.0.0.1", NULL, false, "<ceo@example.com>", forgery,
	    &ed, &conn, &msg);
	assert_int_equal(ed.action.kind, ENGINE_ACCEPT);
	assert_int_equal(ed.nremove, 5); /* forged headers still go */
	done(&ed, conn, msg);
	run(f->eng, "203.0.113.9", "alice", false, "<ceo@example.com>",
	    forgery, &ed, &conn, &msg);
	assert_int_equal(ed.action.kind, ENGINE_ACCEPT);
	assert_non_null(strstr(ed.insert[0].value, "smtp.auth=alice"));
	done(&ed, conn, msg);
	run(f->eng, "203.0.113.9", NULL, true, "<ceo@example.com>", forgery,
	    &ed, &conn, &msg);
	assert_int_equal(ed.action.kind, ENGINE_ACCEPT);
	assert_non_null(strstr(ed.insert[0].value, "dmarc=fail"));
	done(&ed, conn, msg);
}

/* a message the caller lost part of is not tagged; forged headers go */
static void
test_lost(void **state)
{
	struct fixture *f = *state;
	struct engine_conn *conn = engine_conn_new(f->eng, "203.0.113.9");
	struct engine_msg *msg = engine_msg_new(conn);
	struct engine_edits ed;

	engine_msg_mailfrom(msg, "<ceo@example.com>");
	engine_msg_header(msg, "Authentication-Results",
			  " mx.example.org; dmarc=pass");
	engine_msg_header(msg, "From", " <ceo@example.com>");
	engine_msg_lost(msg);
	engine_msg_eoh(msg);
	assert_int_equal(engine_msg_eom(msg, &ed), -1);
	assert_true(ed.incomplete);
	assert_int_equal(ed.ninsert, 0);
	assert_int_equal(ed.nremove, 1);
	assert_int_equal(ed.remove[0].index, 1);
	assert_int_equal(ed.action.kind, ENGINE_ACCEPT);
	done(&ed, conn, msg);
}

/* calls out of order or repeated get a defined answer */
static void
test_out_of_order(void **state)
{
	struct fixture *f = *state;
	struct engine_conn *conn = engine_conn_new(f->eng, "192.0.2.25");
	struct engine_msg *msg = engine_msg_new(conn);
	struct engine_edits ed, again, none;

	/* body before headers and without end-of-headers, NULLs */
	engine_msg_body(msg, (const unsigned char *)"x\r\n", 3);
	engine_msg_header(msg, NULL, "x");
	engine_msg_header(msg, "From", NULL);
	engine_msg_rcpt(msg, NULL);
	engine_msg_mailfrom(msg, NULL);
	engine_msg_header(msg, "From", " <a@example.com>");
	engine_msg_mailfrom(msg, "<a@example.com>");
	assert_int_equal(engine_msg_eom(msg, &ed), 0);
	assert_non_null(strstr(ed.insert[0].value, "spf=pass"));
	/* end of message twice: the second is refused, tempfail */
	assert_int_equal(engine_msg_eom(msg, &again), -1);
	assert_int_equal(again.action.kind, ENGINE_TEMPFAIL);
	assert_string_equal(again.action.code, "451");
	assert_string_equal(again.action.xcode, "4.3.0");
	assert_int_equal(again.ninsert, 0);
	/* and with no message at all */
	assert_int_equal(engine_msg_eom(NULL, &none), -1);
	assert_int_equal(none.action.kind, ENGINE_TEMPFAIL);
	engine_edits_free(&again);
	engine_edits_free(&none);
	/* the calls on NULL are no-ops */
	engine_msg_header(NULL, "From", "x");
	engine_msg_body(NULL, (const unsigned char *)"x", 1);
	engine_msg_eoh(NULL);
	engine_conn_helo(NULL, "x");
	done(&ed, conn, msg);
}

/* the From domain for the log: one domain, or why not */
static void
test_from_domain(void **state)
{
	struct fixture *f = *state;
	struct engine_conn *conn = engine_conn_new(f->eng, "192.0.2.25");
	struct engine_msg *msg = engine_msg_new(conn);

	assert_string_equal(engine_msg_from_domain(msg), "(no-from)");
	engine_msg_header(msg, "From", " <a@Example.COM>");
	assert_string_equal(engine_msg_from_domain(msg), "example.com");
	engine_msg_header(msg, "From", " <b@example.net>");
	assert_string_equal(engine_msg_from_domain(msg), "(multiple-fields)");
	engine_msg_header(msg, "From", " <c@example.org>");
	assert_string_equal(engine_msg_from_domain(msg), "(3 From fields)");
	assert_string_equal(engine_msg_mail_domain(msg), "");
	engine_msg_free(msg);
	engine_conn_free(conn);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_edits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_action_reject, setup_reject,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_action_quarantine,
					    setup_reject, teardown),
	    cmocka_unit_test_setup_teardown(test_action_exempt, setup_reject,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_lost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_order, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_from_domain, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
