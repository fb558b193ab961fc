-- Authenticated `me`: every request carries the next session's access token, round-robin over
-- this thread's share of the token file (wrk's Lua has no per-connection hook, so tokens
-- rotate per request: consecutive requests, on whatever connection, are different sessions).
--   tokens=<file, one access token a line> threads=<wrk -t> body=<JSON body> expect=<answer prefix>
--   ua=<User-Agent>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local serve = round_robin()

function init(args)
  local a = parse_args(args)
  local tokens = thread_lines(a.tokens, tonumber(a.threads))
  if #tokens == 0 then error("me.lua: no tokens for thread " .. id) end
  serve(me_requests(tokens, a.body, a.ua), a.expect)
end
