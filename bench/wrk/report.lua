-- Shared by the wrk scripts (loaded with dofile from the repository root): one summary line
-- with the request count, errors and latency percentiles, read by scripts/bench-http.
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d non2xx_or_errors=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end
