-- wrk script: each request submits the last page of a different prepared link.
-- TOKENS names a file of tokens, one a line; BODY is the urlencoded last page.
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do
  tokens[#tokens + 1] = line
end
local body = os.getenv("BODY")
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
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
  local token = tokens[(next_index % #tokens) + 1]
  next_index = next_index + stride
  return wrk.format("POST", "/f/" .. token .. "/finances", headers, body)
end
