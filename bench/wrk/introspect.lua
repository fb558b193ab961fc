-- Token introspection (`POST /oauth/introspect`, RFC 7662), as a router sends it on each of its
-- requests: every request asks about the next session's access token, round-robin over this
-- thread's share of the token file, authenticated with an introspection secret.
--   tokens=<file, one access token a line> threads=<wrk -t> secret=<one of INTROSPECTION_SECRETS>
--   expect=<answer prefix> ua=<User-Agent>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local requests, i, expect

function init(args)
  local a = parse_args(args)
  expect = a.expect
  local tokens = thread_lines(a.tokens, tonumber(a.threads))
  if #tokens == 0 then error("introspect.lua: no tokens for thread " .. id) end
  requests = {}
  for k, t in ipairs(tokens) do
    requests[k] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["User-Agent"] = a.ua,
      ["Authorization"] = "Bearer " .. a.secret,
    }, "token=" .. t)
  end
  i = 0
end

function request()
  i = i % #requests + 1
  return requests[i]
end

function response(status, headers, body)
  count(is_good(status, body, expect), status, body)
end
