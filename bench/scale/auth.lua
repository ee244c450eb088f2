-- wrk script for scripts/bench-scale-data: GET the URL given to wrk (path and query) with
-- the bearer token in STORYLOOM_TOKEN; one RESULT line (bench/wrk/report.lua).
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("STORYLOOM_TOKEN")

dofile("bench/wrk/report.lua")
