-- Shared by the wrk scripts (loaded with dofile from the repository root): one summary line
-- with the request count, errors and latency percentiles, read by scripts/bench-http.
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d non2xx_or_errors=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end

-- Paced runs (scripts/bench-compare's "half the maximum rate"): WRK_PACE_MS set, each
-- connection waits that long before its next request, so c connections offer at most
-- c * 1000 / WRK_PACE_MS requests per second.
local pace = tonumber(os.getenv("WRK_PACE_MS") or "")
if pace then
  delay = function() return pace end
end
