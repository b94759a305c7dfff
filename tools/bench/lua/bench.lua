-- hbf-bench's wrk script (embedded in the hbf-bench binary; see src/wrk.rs).
-- Everything comes from the environment, so one script serves every route:
--   BENCH_METHOD          request method (default GET)
--   BENCH_BODY            a fixed body
--   BENCH_HEADERS         extra headers, "Name: value" lines
--   BENCH_DISTINCT_BYTES  each request sends a body of this many bytes that no
--                         other request of this run (or of another run: BENCH_NONCE)
--                         sends, e.g. content-addressed block writes
--   BENCH_PATH_TEMPLATE   a path whose "{n}" becomes the request counter modulo
--   BENCH_PATH_COUNT      (default 1000), e.g. writes spread over 1000 files
-- done() prints one line, "HBF_BENCH_RESULT {json}", with the latency
-- distribution and the counts, so that nothing parses wrk's human-readable text.
-- Without a body generator or a path template no request() is defined, so wrk
-- sends one pre-built request as fast as it can.
local distinct = tonumber(os.getenv("BENCH_DISTINCT_BYTES") or "")
local template = os.getenv("BENCH_PATH_TEMPLATE")
local path_count = tonumber(os.getenv("BENCH_PATH_COUNT") or "") or 1000
local nonce = os.getenv("BENCH_NONCE") or ""

wrk.method = os.getenv("BENCH_METHOD") or "GET"
wrk.body = os.getenv("BENCH_BODY")
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then
    wrk.headers[name] = value
  end
end

local threads = {}
setup = function(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

if distinct or template then
  local counter = 0
  local filler = distinct and string.rep("x", distinct) or nil
  request = function()
    counter = counter + 1
    local path = nil
    if template then
      path = (template:gsub("{n}", tostring(counter % path_count)))
    end
    local body = nil
    if distinct then
      local head = string.format("%s-%d-%d\n", nonce, thread_id or 0, counter)
      body = head .. filler:sub(1, distinct - #head)
    end
    return wrk.format(nil, path, nil, body)
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'HBF_BENCH_RESULT {"duration_us":%.0f,"requests":%.0f,"bytes":%.0f,'
      .. '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},'
      .. '"latency_us":{"p50":%.0f,"p90":%.0f,"p99":%.0f,"p999":%.0f,"max":%.0f,"mean":%.3f,"stdev":%.3f}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean, latency.stdev))
end
