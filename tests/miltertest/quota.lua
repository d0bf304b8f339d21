-- quota.lua - N local submissions (Postfix's sendmail(1) path: queue id
-- at MAIL, sender without <>) from one login; prints "held K of N",
-- K being how many the daemon asked to quarantine.
-- -D n=N -D prefix=ID (queue ids ID1..IDN) -D sender=ADDRESS
dofile(src .. "/lib.lua")

local held = 0
for i = 1, tonumber(n) do
	local conn = T.connect()
	T.ok(mt.conninfo(conn, "localhost", "127.0.0.1"), "conninfo")
	T.ok(mt.helo(conn, "localhost"), "helo")
	T.ok(mt.macro(conn, SMFIC_MAIL, "i", prefix .. i), "macro i")
	T.ok(mt.mailfrom(conn, sender), "mailfrom")
	T.ok(mt.rcptto(conn, "friend@dest.example.org"), "rcptto")
	T.message(conn, { { "From", " <" .. sender .. ">" },
		{ "Subject", " quota " .. prefix .. i } }, "x\r\n")
	T.check(T.eom(conn) == SMFIR_ACCEPT, prefix .. i .. " accepted")
	if mt.eom_check(conn, MT_QUARANTINE) then
		held = held + 1
	end
	mt.disconnect(conn)
end
print("held " .. held .. " of " .. n)
