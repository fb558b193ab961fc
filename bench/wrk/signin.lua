-- signInWithGoogle with distinct ID tokens: each token of this thread's share is sent once.
-- When the share runs out the thread stops and the round is reported as invalid (exhausted).
-- done() reports how far into the file the threads got (`taken`), so that the harness hands
-- the tokens never sent to the next round instead of minting new ones.
--   tokens=<file, one ID token a line> threads=<wrk -t> body=<JSON template with @TOKEN@>
--   expect=<answer prefix> ua=<User-Agent>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local tokens, size, prefix, suffix, expect
taken = 0

function init(args)
  local a = parse_args(args)
  expect = a.expect
  prefix, suffix = split_template(a.body)
  tokens = thread_lines(a.tokens, tonumber(a.threads))
  size = #tokens -- sent tokens are cleared, and # of a table with holes is undefined
  -- wrk.headers carries Host; wrk.format() adds Content-Length to it for each request.
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["User-Agent"] = a.ua
end

function request()
  if taken >= size then return pool_ran_dry() end
  taken = taken + 1
  local t = tokens[taken]
  tokens[taken] = nil
  return wrk.format("POST", nil, nil, prefix .. t .. suffix)
end

function response(status, headers, body)
  -- `"user":{"id":"` too: a payload without its account is not a sign-in.
  count(is_good(status, body, expect) and body:find('"user":{"id":"', 1, true) ~= nil, status, body)
end

-- Lines of the file certainly not sent: those past `taken` × threads (each thread's share is
-- every threads-th line, consumed in order).
function finish(threads, result)
  local most = 0
  for _, t in ipairs(threads) do most = math.max(most, t:get("taken")) end
  result.taken = most * #threads
end
