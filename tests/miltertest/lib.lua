-- tests/miltertest/lib.lua - helpers shared by the miltertest scripts
--
-- run.sh starts authtag and runs each script with -D sock=SOCKET
-- -D data=DIR (the messages and keys it made) -D src=DIR (this
-- directory). A failed check raises an error: miltertest then exits
-- non-zero and run.sh counts the script as failed.

T = {}
T.id = id or "mt.example.org" -- -D id=... for another AuthservID

-- T.ok - a miltertest call returned nil (success)
function T.ok(rc, what)
	if rc ~= nil then
		error(what .. ": " .. tostring(rc), 2)
	end
end

-- T.check - one assertion, printed as "ok - what"
function T.check(cond, what)
	if not cond then
		error("FAIL - " .. what, 2)
	end
	print("ok - " .. what)
end

-- T.connect - a new connection to the daemon, negotiated
function T.connect()
	local conn = mt.connect(sock, 40, 0.25)
	if conn == nil then
		error("cannot connect to " .. sock, 2)
	end
	return conn
end

-- T.envelope - connection info, HELO, MAIL FROM and recipients
function T.envelope(conn, ip, mailfrom, rcpts)
	T.ok(mt.conninfo(conn, "client.example.net", ip), "conninfo")
	T.ok(mt.helo(conn, "client.example.net"), "helo")
	T.ok(mt.mailfrom(conn, mailfrom), "mailfrom")
	for _, r in ipairs(rcpts or { "<bob@dest.example.org>" }) do
		T.ok(mt.rcptto(conn, r), "rcptto")
	end
end

-- T.message - header fields (name, value pairs, values as sent) and
-- an optional body; nil body sends no body chunk at all
function T.message(conn, headers, body)
	for _, h in ipairs(headers) do
		T.ok(mt.header(conn, h[1], h[2]), "header " .. h[1])
	end
	T.ok(mt.eoh(conn), "eoh")
	if body ~= nil then
		T.ok(mt.bodystring(conn, body), "body")
	end
end

-- T.read_message - a message file as header pairs and a CRLF body
function T.read_message(path)
	local f = assert(io.open(path, "rb"))
	local text = f:read("*a"):gsub("\r\n", "\n")
	f:close()
	local head, body = text:match("^(.-)\n\n(.*)$")
	if head == nil then
		head, body = text, ""
	end
	local headers = {}
	for line in (head .. "\n"):gmatch("(.-)\n") do
		if line:match("^[ \t]") and #headers > 0 then
			local h = headers[#headers]
			h[2] = h[2] .. "\n" .. line
		else
			local name, value = line:match("^([^:]+):(.*)$")
			headers[#headers + 1] = { name, value }
		end
	end
	return headers, (body:gsub("\n", "\r\n"))
end

-- T.eom - end of message; the reply code as a character
function T.eom(conn)
	T.ok(mt.eom(conn), "eom")
	return mt.getreply(conn)
end

-- T.ar - the A-R header authtag inserted, unfolded ("" if none)
function T.ar(conn)
	local v = mt.getheader(conn, "Authentication-Results", 0)
	if v == nil then
		return ""
	end
	return (v:gsub("%s+", " "))
end

-- T.has - does the A-R value carry WORD (e.g. "spf=pass")?
function T.has(ar, word)
	local w = word:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")
	return (" " .. ar .. " "):find("[ ;(]" .. w .. "[ ;)]") ~= nil
end

-- T.expect - check the A-R of the last message against WORDs; a word
-- starting with "!" must be absent
function T.expect(conn, what, words)
	local ar = T.ar(conn)
	T.check(ar:sub(1, #T.id + 2) == " " .. T.id .. ";",
		what .. ": A-R inserted with our id [" .. ar .. "]")
	T.check(mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results",
		mt.getheader(conn, "Authentication-Results", 0), 0),
		what .. ": inserted at index 0")
	for _, w in ipairs(words) do
		if w:sub(1, 1) == "!" then
			T.check(not ar:find(w:sub(2), 1, true),
				what .. ": no " .. w:sub(2))
		else
			T.check(T.has(ar, w), what .. ": " .. w)
		end
	end
end
