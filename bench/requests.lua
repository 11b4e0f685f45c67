-- wrk script: each request is a different prepared POST (a form's last page, a signed webhook).
-- REQUESTS names a file of lines "path<TAB>signature<TAB>urlencoded body"; "-" is no signature.
local requests = {}
for line in io.lines(os.getenv("REQUESTS")) do
  local path, signature, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
  requests[#requests + 1] = { path = path, signature = signature, body = body }
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
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  if r.signature ~= "-" then
    headers["X-Twilio-Signature"] = r.signature
  end
  return wrk.format("POST", r.path, headers, r.body)
end
