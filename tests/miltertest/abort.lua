-- abort.lua - a message aborted mid-way leaves nothing behind
dofile(src .. "/lib.lua")

local conn = T.connect()
T.envelope(conn, "127.0.0.10", "<bounce@pass.example.com>")
local headers, body = T.read_message(data .. "/pass.eml")
T.message(conn, headers, body:sub(1, 10))
T.ok(mt.abort(conn), "abort after a body chunk")

-- the next message on the same connection starts from scratch
T.ok(mt.mailfrom(conn, "<ceo@reject.example.org>"), "mailfrom")
T.ok(mt.rcptto(conn, "<bob@dest.example.org>"), "rcptto")
T.ok(mt.header(conn, "From", " <ceo@reject.example.org>"), "header")
T.ok(mt.abort(conn), "abort during the headers")

T.ok(mt.mailfrom(conn, "<ceo@reject.example.org>"), "mailfrom")
T.ok(mt.abort(conn), "abort right after MAIL")

T.ok(mt.mailfrom(conn, "<ceo@reject.example.org>"), "mailfrom")
T.ok(mt.rcptto(conn, "<bob@dest.example.org>"), "rcptto")
T.message(conn, { { "From", " Mallory <ceo@reject.example.org>" } },
	"body\r\n")
T.check(T.eom(conn) == SMFIR_ACCEPT, "accepted")
T.expect(conn, "after three aborts", { "spf=fail", "dkim=none",
	"dmarc=fail", "header.from=reject.example.org", "!pass.example.com" })
mt.disconnect(conn)
