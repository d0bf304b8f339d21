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
-- the message is scored once for all of them (no one user's prefs) and
-- the summary line counts them all (run.sh checks "rcpts=100")
T.check(mt.eom_check(conn, MT_HDRINSERT, "X-Spam-Status"),
	"100 recipients: scored, X-Spam-Status added")
T.check(not mt.eom_check(conn, MT_HDRINSERT, "X-Spam-Flag"),
	"100 recipients: not marked spam")
mt.disconnect(conn)
