-- wrk script for scripts/load-test: mixed searches, statuses counted per class.
-- 200 is a success; 503 (busy or past the deadline) is counted apart; anything else is an error.

local paths = {
  "/search?q=workshop",
  "/search?q=kundresan",
  "/search?q=tj%C3%A4nstedesign+malm%C3%B6",
  "/search?q=%22digitala+tj%C3%A4nster%22",
  "/search?q=prototyp&country=SE",
  "/search?q=lastprov&limit=50",
  "/search?q=innovationslabb&year=2016..2022",
  "/search?q=samverkan+-skolan",
  "/search?q=title%3Aworkshop",
  "/search?q=kundrsan",                       -- a misspelling: the correction path
  "/search?method=service-design&lang=sv",    -- browsing by facet
  "/search?q=&offset=100&limit=100",
  "/search?q=%28((invånare",                  -- unbalanced parentheses
  "/search?q=f%C3%B6rvaltning+verkstad+framtid+experiment+insikter",
  "/health",
}

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  ok, busy, other, n = 0, 0, 0, 0
  math.randomseed(id * 7919)
end

function request()
  n = n + 1
  return wrk.format("GET", paths[math.random(#paths)])
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  elseif status == 503 then
    busy = busy + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local ok_total, busy_total, other_total = 0, 0, 0
  for _, thread in ipairs(threads) do
    ok_total = ok_total + thread:get("ok")
    busy_total = busy_total + thread:get("busy")
    other_total = other_total + thread:get("other")
  end
  local errors = summary.errors
  local socket = errors.connect + errors.read + errors.write + errors.timeout
  local seconds = summary.duration / 1e6
  io.write(string.format("LOAD requests=%d seconds=%.1f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f ok=%d status_503=%d status_other=%d socket_errors=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    ok_total, busy_total, other_total, socket))
end
