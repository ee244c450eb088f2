-- wrk script: GET /api/v1/workflows/{id} (full detail: phases, scenes, files, cost) for the
-- workflow in STORYLOOM_WORKFLOW.
wrk.method = "GET"
wrk.path = "/api/v1/workflows/" .. os.getenv("STORYLOOM_WORKFLOW")
if os.getenv("STORYLOOM_TOKEN") then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("STORYLOOM_TOKEN")
else
  wrk.headers["Cookie"] = os.getenv("STORYLOOM_COOKIE")
end

dofile("bench/wrk/report.lua")
