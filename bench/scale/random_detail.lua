-- wrk script for scripts/bench-scale-data: GET /api/v1/workflows/{id} for an id drawn at
-- random from the file SCALE_IDS (one id a line), with the bearer token in STORYLOOM_TOKEN.
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("STORYLOOM_TOKEN")

local ids = {}
for line in io.lines(os.getenv("SCALE_IDS")) do
  if #line > 0 then ids[#ids + 1] = line end
end
assert(#ids > 0, "SCALE_IDS holds no ids")

-- Each wrk thread has its own Lua state: seed each differently.
local seeded = false
request = function()
  if not seeded then
    math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
    seeded = true
  end
  return wrk.format(nil, "/api/v1/workflows/" .. ids[math.random(#ids)])
end

dofile("bench/wrk/report.lua")
