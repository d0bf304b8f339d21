-- reject.lua - RejectFailures yes: reject, quarantine, t=y, trusted
dofile(src .. "/lib.lua")

local function one(ip, domain)
	local conn = T.connect()
	T.envelope(conn, ip, "<ceo@" .. domain .. ">")
	T.message(conn, { { "From", " <ceo@" .. domain .. ">" } }, "x\r\n")
	local reply = T.eom(conn)
	return conn, reply
end

local conn, reply = one("127.0.0.10", "reject.example.org")
-- a reply code (its text is checked by rawproto.py: miltertest's
-- MT_SMTPREPLY sees only replies set before end of message)
T.check(reply == SMFIR_REPLYCODE, "p=reject failure rejected")
mt.disconnect(conn)

conn, reply = one("127.0.0.10", "quarantine.example.org")
T.check(reply == SMFIR_ACCEPT, "p=quarantine failure accepted")
T.check(mt.eom_check(conn, MT_QUARANTINE), "and quarantined")
T.expect(conn, "quarantined", { "dmarc=fail", "dis=quarantine" })
mt.disconnect(conn)

conn, reply = one("127.0.0.10", "testing.example.org")
T.check(reply == SMFIR_ACCEPT and mt.eom_check(conn, MT_QUARANTINE),
	"p=reject with t=y: quarantined, not rejected")
mt.disconnect(conn)

conn, reply = one("127.0.0.10", "pnone.example.org")
T.check(reply == SMFIR_ACCEPT and not mt.eom_check(conn, MT_QUARANTINE),
	"p=none failure: accepted")
mt.disconnect(conn)

conn, reply = one("127.0.0.1", "reject.example.org")
T.check(reply == SMFIR_ACCEPT and not mt.eom_check(conn, MT_QUARANTINE),
	"trusted client: never rejected")
mt.disconnect(conn)
