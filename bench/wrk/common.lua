-- Shared by the benchmark's wrk scripts (bench/wrk/*.lua), which load it with dofile() from
-- their own directory. The harness (bench/lib/wrk.ts) passes every setting as key=value after
-- `--` and reads one line back: `BENCH_RESULT {json}`, printed by done() below.
--
-- wrk runs one Lua state per thread, plus a main state for setup() and done(). Globals a
-- thread sets (ok, bad, exhausted, bad_samples, …) are read back in done() with thread:get().
--
-- What counts as success is decided here, per answer: HTTP 200, a body that starts with the
-- phase's expected prefix (`expect=`) and carries no `"errors"` member. Anything else is a
-- failure and is counted and sampled, never averaged in: a fast error is not a fast answer.

local threads = {}
local next_id = 0

-- Main state, once per thread, before that thread's init(): give each thread its share of a
-- token file (threads must never share a single-use token).
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- key=value arguments → table.
function parse_args(args)
  local out = {}
  for _, a in ipairs(args) do
    local k, v = a:match("^([%w_]+)=(.*)$")
    if not k then error("bench script argument is not key=value: " .. a) end
    out[k] = v
  end
  return out
end

-- This thread's share of the non-empty lines of `path`: lines i with (i - 1) % nthreads == id.
function thread_lines(path, nthreads)
  local t, i = {}, 0
  for line in io.lines(path) do
    if #line > 0 then
      if i % nthreads == id then t[#t + 1] = line end
      i = i + 1
    end
  end
  return t
end

-- One `me` request per access token, built once: the load generator spends its core sending.
function me_requests(tokens, body, ua)
  local out = {}
  for k, t in ipairs(tokens) do
    out[k] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/json",
      ["User-Agent"] = ua,
      ["Authorization"] = "Bearer " .. t,
    }, body)
  end
  return out
end

-- Installs `request` and `response` serving a list of requests in turn (the next request is
-- the next token's, on whatever connection) and counting an answer as good when it starts with
-- `expect`. Call it at a script's top level: wrk checks for `request`/`response` before any
-- thread's `init` runs. Returns the setter `init` calls with the requests and the prefix.
function round_robin()
  local reqs, expect, i = nil, nil, 0
  request = function()
    i = i % #reqs + 1
    return reqs[i]
  end
  response = function(status, headers, body)
    count(is_good(status, body, expect), status, body)
  end
  return function(r, e)
    reqs, expect = r, e
  end
end

-- A JSON body template with one `@TOKEN@` → prefix, suffix.
function split_template(template)
  local a, b = template:find("@TOKEN@", 1, true)
  if not a then error("body template has no @TOKEN@: " .. template) end
  return template:sub(1, a - 1), template:sub(b + 1)
end

-- Counters of this thread (globals: read back by done()).
ok, bad, exhausted = 0, 0, 0
bad_samples = {}

function is_good(status, body, expect)
  return status == 200 and body:sub(1, #expect) == expect and not body:find('"errors"', 1, true)
end

-- Counts one answer; keeps the first three failures (status and 200 characters of body).
function count(good, status, body)
  if good then
    ok = ok + 1
  else
    bad = bad + 1
    if #bad_samples < 3 then bad_samples[#bad_samples + 1] = status .. " " .. body:sub(1, 200) end
  end
end

-- Called from request() when a single-use pool ran dry: the round is invalid (reported), and
-- the thread stops; the request returned meanwhile is a harmless `{ __typename }`, which the
-- phase's check then counts as a failure as well.
function pool_ran_dry()
  exhausted = exhausted + 1
  wrk.thread:stop()
  return wrk.format("POST", nil, nil, '{"query":"{ __typename }"}')
end

local function json(v)
  local t = type(v)
  if t == "number" then
    if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return string.format("%d", v) end
    return string.format("%.6g", v)
  elseif t == "string" then
    return '"' .. v:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
  elseif t == "table" then
    if #v > 0 or next(v) == nil then
      local parts = {}
      for _, x in ipairs(v) do parts[#parts + 1] = json(x) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local parts = {}
    for k, x in pairs(v) do parts[#parts + 1] = json(tostring(k)) .. ":" .. json(x) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return "null"
end

-- Scripts may define finish(threads, result) (main state) to add fields or write files.
function done(summary, latency, requests)
  local r = {
    requests = summary.requests,
    duration_us = summary.duration,
    errors = {
      connect = summary.errors.connect,
      read = summary.errors.read,
      write = summary.errors.write,
      status = summary.errors.status,
      timeout = summary.errors.timeout,
    },
    latency_us = {
      p50 = latency:percentile(50),
      p90 = latency:percentile(90),
      p99 = latency:percentile(99),
      p999 = latency:percentile(99.9),
      mean = latency.mean,
      max = latency.max,
    },
    ok = 0, bad = 0, exhausted = 0, bad_samples = {},
  }
  for _, t in ipairs(threads) do
    r.ok = r.ok + t:get("ok")
    r.bad = r.bad + t:get("bad")
    r.exhausted = r.exhausted + t:get("exhausted")
    for _, s in ipairs(t:get("bad_samples")) do r.bad_samples[#r.bad_samples + 1] = s end
  end
  if finish then finish(threads, r) end
  io.write("BENCH_RESULT " .. json(r) .. "\n")
end
