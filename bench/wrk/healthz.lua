-- wrk script: GET /healthz (the io thread's fast path).

dofile("bench/wrk/report.lua")
