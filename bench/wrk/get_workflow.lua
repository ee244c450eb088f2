-- wrk script: GET /api/v1/workflows/{id} (full detail: phases, scenes, files, cost) for the
-- workflow in STORYLOOM_WORKFLOW.
wrk.method = "GET"
wrk.path = "/api/v1/workflows/" .. os.getenv("STORYLOOM_WORKFLOW")
if os.getenv("STORYLOOM_TOKEN") then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("STORYLOOM_TOKEN")
else
  wrk.headers["Cookie"] = os.getenv("STORYLOOM_COOKIE")
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d non2xx_or_errors=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end
