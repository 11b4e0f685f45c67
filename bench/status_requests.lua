-- wrk script for bench/status_page.py: each request a different family from its own address.
-- REQUESTS names a file of lines "forwarded address<TAB>urlencoded body" (POST /status).
local requests = {}
for line in io.lines(os.getenv("REQUESTS")) do
  local address, body = line:match("^([^\t]+)\t(.*)$")
  requests[#requests + 1] = { address = address, body = body }
end
local threads = 0

function setup(thread)
  thread:set("first", threads)
  threads = threads + 1
end

function init(args)
  next_index = first
  stride = 2 -- wrk -t2
end

function request()
  local r = requests[(next_index % #requests) + 1]
  next_index = next_index + stride
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Forwarded-For"] = r.address,
  }
  return wrk.format("POST", "/status", headers, r.body)
end
