-- refreshSession: refresh tokens are single-use, so each thread keeps a queue seeded with its
-- share of the token file; a request takes the oldest token out, and a successful answer puts
-- the new refresh token it carries at the back. A token is never sent twice: a failed answer
-- loses its token (counted as a failure); one still in flight when the run ends is dropped.
-- done() writes the tokens left in the queues to `leftover=`, to seed the next round.
--   tokens=<file> threads=<wrk -t> body=<JSON template with @TOKEN@> expect=<answer prefix>
--   ua=<User-Agent> leftover=<file to write>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local prefix, suffix, expect, head, tail

function init(args)
  local a = parse_args(args)
  expect = a.expect
  leftover = a.leftover
  prefix, suffix = split_template(a.body)
  queue = thread_lines(a.tokens, tonumber(a.threads))
  head, tail = 1, #queue
  -- wrk.headers carries Host; wrk.format() adds Content-Length to it for each request.
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["User-Agent"] = a.ua
end

function request()
  if head > tail then return pool_ran_dry() end
  local t = queue[head]
  queue[head] = nil
  head = head + 1
  return wrk.format("POST", nil, nil, prefix .. t .. suffix)
end

function response(status, headers, body)
  local next_token = is_good(status, body, expect) and body:match('"refreshToken":"([^"]+)"') or nil
  if next_token then
    tail = tail + 1
    queue[tail] = next_token
  end
  count(next_token ~= nil, status, body)
end

-- Main state: init() ran only in the threads' states, so the path comes from one of them.
function finish(threads, result)
  local f = assert(io.open(threads[1]:get("leftover"), "w"))
  local n = 0
  for _, t in ipairs(threads) do
    for _, token in pairs(t:get("queue")) do
      f:write(token, "\n")
      n = n + 1
    end
  end
  f:close()
  result.leftover = n
end
