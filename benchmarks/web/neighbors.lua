-- wrk script: GET /api/neighbors?k=10 for a word chosen per request.
--   wrk ... -s neighbors.lua URL -- TABLE ROWS HOT
-- ROWS words w000000..; HOT > 0 draws from the first HOT words only (repeats: the answer cache),
-- HOT = 0 draws from all ROWS (nearly every request a new word: a full scan of the table).
local tbl, rows, hot
function init(args)
  tbl = args[1]
  rows = tonumber(args[2])
  hot = tonumber(args[3])
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0) % 100000)
end
function request()
  local n = hot > 0 and hot or rows
  local word = string.format("w%06d", math.random(0, n - 1))
  return wrk.format("GET", "/api/neighbors?table=" .. tbl .. "&word=" .. word .. "&k=10")
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d seconds=%.1f rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.timeout, e.status))
end
