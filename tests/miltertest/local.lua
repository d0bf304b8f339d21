-- local.lua - what Postfix's sendmail(1) path looks like: client
-- localhost [127.0.0.1], queue id at MAIL, addresses without <>
dofile(src .. "/lib.lua")

local conn = T.connect()
T.ok(mt.conninfo(conn, "localhost", "127.0.0.1"), "conninfo")
T.ok(mt.helo(conn, "localhost"), "helo")
T.ok(mt.macro(conn, SMFIC_MAIL, "i", "4MTLOCAL1"), "macro i")
T.ok(mt.mailfrom(conn, "carol@dest.example.org"), "mailfrom")
T.ok(mt.rcptto(conn, "bob@dest.example.org"), "rcptto")
T.message(conn, { { "From", " Carol <carol@dest.example.org>" } }, "x\r\n")
T.check(T.eom(conn) == SMFIR_ACCEPT, "accepted")
T.expect(conn, "local submission", { "!spf=", "!dmarc=" })

mt.disconnect(conn)

-- SMTP AUTH from an untrusted address: {auth_authen} at MAIL
conn = T.connect()
T.ok(mt.conninfo(conn, "client.example.net", "127.0.0.10"), "conninfo")
-- HELO before the macro: each stage clears the macros of later ones
T.ok(mt.helo(conn, "client.example.net"), "helo")
T.ok(mt.macro(conn, SMFIC_MAIL, "i", "4MTAUTH1", "{auth_authen}", "alice"),
	"macro auth")
T.ok(mt.mailfrom(conn, "<ceo@reject.example.org>"), "mailfrom")
T.ok(mt.rcptto(conn, "<bob@dest.example.org>"), "rcptto")
T.message(conn, { { "From", " <ceo@reject.example.org>" } }, "x\r\n")
T.check(T.eom(conn) == SMFIR_ACCEPT, "accepted")
T.expect(conn, "authenticated", { "auth=pass", "smtp.auth=alice",
	"!spf=", "!dmarc=" })
mt.disconnect(conn)

-- a client address the MTA does not know: no SPF, DMARC still runs
conn = T.connect()
T.ok(mt.conninfo(conn, "unknown", "unspec"), "conninfo unspec")
T.ok(mt.mailfrom(conn, "<ceo@reject.example.org>"), "mailfrom")
T.ok(mt.rcptto(conn, "<bob@dest.example.org>"), "rcptto")
T.message(conn, { { "From", " <ceo@reject.example.org>" } }, "x\r\n")
T.check(T.eom(conn) == SMFIR_ACCEPT, "accepted")
T.expect(conn, "unknown client", { "!spf=", "dmarc=fail" })
mt.disconnect(conn)
