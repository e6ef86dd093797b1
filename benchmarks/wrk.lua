-- The wrk script of every load in the benchmark; run.py sets the mode with environment
-- variables, because wrk decides whether requests are dynamic when it loads this file.
--   WRK_MODE=get (default)   the URL with the -H headers (GET /users/me, GET /noop)
--   WRK_MODE=login           POST the urlencoded form in WRK_BODY (a login)
--   WRK_MODE=register        POST /auth/register with a new email every time (WRK_PREFIX-N@…)
-- At the end it prints one line, "WRKJSON {...}", that run.py reads (latencies in µs).

local mode = os.getenv("WRK_MODE") or "get"

if mode == "login" then
  wrk.method = "POST"
  wrk.body = os.getenv("WRK_BODY")
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

if mode == "register" then
  local prefix = os.getenv("WRK_PREFIX")
  local counter = 0
  local headers = { ["Content-Type"] = "application/json" }
  function request()
    counter = counter + 1
    local body = string.format(
      '{"email": "%s-%d@example.com", "password": "correct horse battery staple"}',
      prefix, counter)
    return wrk.format("POST", "/auth/register", headers, body)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "status_errors": %d, ' ..
    '"socket_errors": %d, "timeouts": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
