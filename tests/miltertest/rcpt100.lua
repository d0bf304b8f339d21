-- rcpt100.lua - one message to 100 recipients
dofile(src .. "/lib.lua")

local conn = T.connect()
local rcpts = {}
for i = 1, 100 do
	rcpts[i] = string.format("<user%03d@dest.example.org>", i)
end
T.envelope(conn, "127.0.0.10", "<alice@spfonly.example.com>", rcpts)
T.message(conn, { { "From", " <alice@spfonly.example.com>" },
	{ "Message-ID", " <rcpt100@mt.example.net>" } }, "to many\r\n")
T.check(T.eom(conn) == SMFIR_ACCEPT, "accepted")
T.expect(conn, "100 recipients", { "spf=pass", "dmarc=pass" })
mt.disconnect(conn)
