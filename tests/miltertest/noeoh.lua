-- noeoh.lua - the script never announces end-of-header, nor sends a
-- body: what miltertest fills in must still give a tagged message
dofile(src .. "/lib.lua")

local conn = T.connect()
T.envelope(conn, "127.0.0.10", "<bounce@pass.example.com>")
local headers, body = T.read_message(data .. "/pass.eml")
for _, h in ipairs(headers) do
	T.ok(mt.header(conn, h[1], h[2]), "header " .. h[1])
end
T.ok(mt.bodystring(conn, body), "body without end-of-header first")
T.check(T.eom(conn) == SMFIR_ACCEPT, "accepted")
T.expect(conn, "no EOH call", { "dkim=pass", "dmarc=pass" })

T.ok(mt.mailfrom(conn, "<alice@spfonly.example.com>"), "mailfrom")
T.ok(mt.header(conn, "From", " <alice@spfonly.example.com>"), "header")
T.check(T.eom(conn) == SMFIR_ACCEPT, "end of message right after a header")
T.expect(conn, "no EOH, no body", { "spf=pass", "dmarc=pass" })
mt.disconnect(conn)
