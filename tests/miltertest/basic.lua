-- basic.lua - one signed message: results, place, forged headers
dofile(src .. "/lib.lua")

local conn = T.connect()
T.envelope(conn, "127.0.0.10", "<bounce@pass.example.com>")
local headers, body = T.read_message(data .. "/pass.eml")
-- forged A-R headers claiming our id around a foreign one
table.insert(headers, 1, { "Authentication-Results", " " .. T.id .. "; dmarc=pass" })
table.insert(headers, 2, { "Authentication-Results", " other.example.net; spf=pass" })
table.insert(headers, { "Authentication-Results", " (c) MT.Example.Org; dkim=pass" })
T.message(conn, headers, body)
T.check(T.eom(conn) == SMFIR_ACCEPT, "accepted")
T.expect(conn, "signed message", { "spf=pass", "dkim=pass",
	"header.d=pass.example.com", "dmarc=pass",
	"header.from=pass.example.com" })
-- miltertest reports a deletion by name only: rawproto.py sends this
-- message again and checks the indexes (#3 and #1 go, foreign #2 stays)
T.check(mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results"),
	"forged headers removed")
T.check(not mt.eom_check(conn, MT_BODYCHANGE), "body untouched")
mt.disconnect(conn)
