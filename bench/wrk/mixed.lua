-- The RSS phase's steady load: `me` over the sessions, with every `every`-th request a sign-in
-- of a new account while ID tokens last (new tokens, sessions and cache entries keep coming).
--   tokens=<access tokens> idtokens=<ID tokens> threads=<wrk -t> body=<me body>
--   signin=<sign-in JSON template with @TOKEN@> expect=<me answer prefix>
--   expect_signin=<sign-in answer prefix> every=<N> ua=<User-Agent>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local me, idtokens, idcount, i, j, n, every, prefix, suffix, expect, expect_signin
signins = 0

function init(args)
  local a = parse_args(args)
  expect, expect_signin, every = a.expect, a.expect_signin, tonumber(a.every)
  prefix, suffix = split_template(a.signin)
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["User-Agent"] = a.ua
  me = me_requests(thread_lines(a.tokens, tonumber(a.threads)), a.body, a.ua)
  idtokens = thread_lines(a.idtokens, tonumber(a.threads))
  idcount = #idtokens -- sent tokens are cleared, and # of a table with holes is undefined
  i, j, n = 0, 0, 0
end

function request()
  n = n + 1
  if n % every == 0 and j < idcount then
    j = j + 1
    local t = idtokens[j]
    idtokens[j] = nil
    signins = signins + 1
    return wrk.format("POST", nil, nil, prefix .. t .. suffix)
  end
  i = i % #me + 1
  return me[i]
end

function response(status, headers, body)
  count(is_good(status, body, expect) or is_good(status, body, expect_signin), status, body)
end

function finish(threads, result)
  result.signins = 0
  for _, t in ipairs(threads) do result.signins = result.signins + t:get("signins") end
end
