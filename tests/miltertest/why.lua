-- why.lua - the seed case through the daemon (tests/test_explain.sh
-- checks its LogWhy line): a vendor's mail sent by its ESP
dofile(src .. "/lib.lua")

local conn = T.connect()
T.envelope(conn, "198.51.100.7", "<bounce-123@esp.example>")
local headers, body = T.read_message(data .. "/seed.eml")
T.message(conn, headers, body)
T.check(T.eom(conn) == SMFIR_ACCEPT, "accepted (tag mode)")
T.expect(conn, "the seed case", { "spf=pass", "dkim=pass", "dmarc=fail" })
mt.disconnect(conn)
