-- Token introspection (`POST /oauth/introspect`, RFC 7662), as a router sends it on each of its
-- requests: every request asks about the next session's access token, round-robin over this
-- thread's share of the token file, authenticated with an introspection secret.
--   tokens=<file, one access token a line> threads=<wrk -t> secret=<one of INTROSPECTION_SECRETS>
--   expect=<answer prefix> ua=<User-Agent>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local serve = round_robin()

function init(args)
  local a = parse_args(args)
  local tokens = thread_lines(a.tokens, tonumber(a.threads))
  if #tokens == 0 then error("introspect.lua: no tokens for thread " .. id) end
  local requests = {}
  for k, t in ipairs(tokens) do
    requests[k] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["User-Agent"] = a.ua,
      ["Authorization"] = "Bearer " .. a.secret,
    }, "token=" .. t)
  end
  serve(requests, a.expect)
end
