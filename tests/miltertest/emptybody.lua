-- emptybody.lua - empty bodies as far as miltertest can send them
--
-- miltertest sends a default body chunk when a script sends none, and
-- a chunk of zero bytes makes libmilter drop the connection (it takes a
-- data-less body packet for a protocol error; no MTA sends one). So
-- this checks that the dropped connection costs nothing: the next
-- connection's signed message with an empty body (a single CRLF, the
-- same body hash as none) verifies. rawproto.py sends the empty body
-- with no body chunk at all, and the e2e tests through both MTAs.
dofile(src .. "/lib.lua")

local headers, body = T.read_message(data .. "/empty.eml")
T.check(body == "", "the test message has an empty body")

local conn = T.connect()
T.envelope(conn, "127.0.0.10", "<bounce@pass.example.com>")
T.message(conn, headers, nil)
mt.bodystring(conn, "")
T.check(mt.eom(conn) ~= nil, "a zero-byte body chunk: connection dropped")
mt.disconnect(conn, false)

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
