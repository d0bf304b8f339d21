-- multi.lua - several messages on one connection, each its own results
dofile(src .. "/lib.lua")

local conn = T.connect()
T.ok(mt.conninfo(conn, "client.example.net", "127.0.0.10"), "conninfo")
T.ok(mt.helo(conn, "client.example.net"), "helo")
local cases = {
	{ "<alice@spfonly.example.com>", " <alice@spfonly.example.com>",
		{ "spf=pass", "dmarc=pass", "header.from=spfonly.example.com" } },
	{ "<ceo@reject.example.org>", " <ceo@reject.example.org>",
		{ "spf=fail", "dmarc=fail", "header.from=reject.example.org" } },
	{ "<>", " <mailer-daemon@norecord.example.org>",
		{ "dmarc=none", "header.from=norecord.example.org" } },
	{ "<ceo@quarantine.example.org>", " <ceo@quarantine.example.org>",
		{ "spf=fail", "dmarc=fail", "dis=quarantine" } },
	{ "<alice@spfonly.example.com>", nil,
		{ "spf=pass", "dmarc=none", "!header.from" } },
}
for i, c in ipairs(cases) do
	T.ok(mt.mailfrom(conn, c[1]), "mailfrom " .. i)
	T.ok(mt.rcptto(conn, "<bob@dest.example.org>"), "rcptto " .. i)
	local headers = { { "Subject", " message " .. i } }
	if c[2] ~= nil then
		headers[2] = { "From", c[2] }
	end
	T.message(conn, headers, "message " .. i .. "\r\n")
	T.check(T.eom(conn) == SMFIR_ACCEPT, "message " .. i .. " accepted")
	T.expect(conn, "message " .. i, c[3])
end
mt.disconnect(conn)
