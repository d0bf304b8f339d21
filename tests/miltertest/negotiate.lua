-- negotiate.lua - authtag asks only for what it uses
dofile(src .. "/lib.lua")

local conn = T.connect()
T.envelope(conn, "127.0.0.10", "<alice@spfonly.example.com>")
for _, a in ipairs({ SMFIF_ADDHDRS, SMFIF_CHGHDRS, SMFIF_QUARANTINE }) do
	T.check(mt.test_action(conn, a), "action " .. a .. " requested")
end
for _, a in ipairs({ SMFIF_CHGBODY, SMFIF_ADDRCPT, SMFIF_DELRCPT }) do
	T.check(not mt.test_action(conn, a), "action " .. a .. " not requested")
end
-- header values exactly as sent: DKIM simple canonicalisation
T.check(mt.test_option(conn, SMFIP_HDR_LEADSPC), "SMFIP_HDR_LEADSPC")
for _, o in ipairs({ SMFIP_NR_CONN, SMFIP_NR_HELO, SMFIP_NR_MAIL,
		SMFIP_NR_RCPT, SMFIP_NR_HDR, SMFIP_NR_EOH, SMFIP_NR_BODY,
		SMFIP_NODATA, SMFIP_NOUNKNOWN }) do
	T.check(mt.test_option(conn, o), "step option " .. o)
end
for _, o in ipairs({ SMFIP_NOHDRS, SMFIP_NOBODY, SMFIP_NOMAIL }) do
	T.check(not mt.test_option(conn, o), "still gets step " .. o)
end
T.message(conn, { { "From", " <alice@spfonly.example.com>" } }, "hi\r\n")
T.check(T.eom(conn) == SMFIR_ACCEPT, "accepted")
T.expect(conn, "negotiated message", { "spf=pass", "dmarc=pass" })
mt.disconnect(conn)
