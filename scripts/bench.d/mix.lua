-- wrk script: cycles through the benchmark's query mix (one URL path per line in $BENCH_URLS).
local paths = {}
for line in io.lines(os.getenv("BENCH_URLS")) do
  paths[#paths + 1] = line
end
local i = 0
function init(args)
  i = math.random(#paths)
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
