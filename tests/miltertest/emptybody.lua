-- emptybody.lua - empty bodies as far as miltertest can send them
--
-- miltertest sends a default body chunk when a script sends none, so
-- the empty body goes as one chunk of zero bytes (libmilter-based
-- filters drop the connection there; no MTA sends one, and authtag
-- takes it as the empty body it is): the signed message verifies. Then
-- twice on one connection the same message with a body of a single
-- CRLF (RFC 6376 3.4.3: the same body hash as none). rawproto.py sends
-- the empty body with no body chunk at all, and the e2e tests through
-- both MTAs.
dofile(src .. "/lib.lua")

local headers, body = T.read_message(data .. "/empty.eml")
T.check(body == "", "the test message has an empty body")

local conn = T.connect()
T.envelope(conn, "127.0.0.10", "<bounce@pass.example.com>")
T.message(conn, headers, nil)
mt.bodystring(conn, "")
T.check(T.eom(conn) == SMFIR_ACCEPT, "a zero-byte body chunk: accepted")
T.expect(conn, "zero-byte body chunk", { "dkim=pass", "dmarc=pass" })
mt.disconnect(conn)

conn = T.connect()
for i = 1, 2 do
	-- twice on one connection: nothing of the first stays behind
	if i == 1 then
		T.envelope(conn, "127.0.0.10", "<bounce@pass.example.com>")
	else
		T.ok(mt.mailfrom(conn, "<bounce@pass.example.com>"), "mailfrom")
		T.ok(mt.rcptto(conn, "<bob@dest.example.org>"), "rcptto")
	end
	-- RFC 6376 3.4.3: an empty body and a lone CRLF hash the same
	T.message(conn, headers, "\r\n")
	T.check(T.eom(conn) == SMFIR_ACCEPT, "accepted")
	T.expect(conn, "empty body " .. i, { "dkim=pass", "dmarc=pass" })
end
mt.disconnect(conn)
