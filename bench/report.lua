-- wrk script of the bench: sends the bearer token from BENCH_TOKEN, counts the
-- answers by status class, and ends with one machine-readable line:
--   BENCH_RESULT {"requests": ..., "ok": ..., "latency_p99_us": ...}
-- Defining response() makes wrk hand every body to Lua, which costs the load
-- generator some CPU; the bench measures that cost and reports it.

local token = os.getenv("BENCH_TOKEN")
if token == nil or token == "" then
  error("BENCH_TOKEN is not set")
end
wrk.headers["Authorization"] = "Bearer " .. token

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok = 0
  not_ok = 0
  last_bad_status = 0
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    not_ok = not_ok + 1
    last_bad_status = status
  end
end

function done(summary, latency, requests)
  local ok_total, not_ok_total, bad_status = 0, 0, 0
  for _, thread in ipairs(threads) do
    ok_total = ok_total + thread:get("ok")
    not_ok_total = not_ok_total + thread:get("not_ok")
    if thread:get("last_bad_status") ~= 0 then
      bad_status = thread:get("last_bad_status")
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"ok": %d, "not_2xx": %d, "last_bad_status": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, ' ..
    '"timeouts": %d, "status_errors": %d, ' ..
    '"latency_mean_us": %.1f, "latency_p50_us": %d, "latency_p90_us": %d, ' ..
    '"latency_p99_us": %d, "latency_max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    ok_total, not_ok_total, bad_status,
    errors.connect, errors.read, errors.write, errors.timeout, errors.status,
    latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
