-- wrk script: durable POST /api/v1/workflows. Run the server with --workers 0 so the
-- benchmark measures the API and the database, not generation. Auth comes from the
-- environment: STORYLOOM_COOKIE and STORYLOOM_CSRF (a browser session) or STORYLOOM_TOKEN.
wrk.method = "POST"
wrk.body = '{"prompt":"A lighthouse keeper finds a map","options":{"scenes":1,"narration":false}}'
wrk.headers["Content-Type"] = "application/json"
if os.getenv("STORYLOOM_TOKEN") then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("STORYLOOM_TOKEN")
else
  wrk.headers["Cookie"] = os.getenv("STORYLOOM_COOKIE")
  wrk.headers["X-CSRF-Token"] = os.getenv("STORYLOOM_CSRF")
end

dofile("bench/wrk/report.lua")
