-- Shared by every wrk script of bench/: counts non-2xx answers per thread and prints
-- one line `RESULT {json}` with the fields of `tessera-bench` (bench/src/main.rs):
-- requests, duration_s, rps, p50_ms, p99_ms, non2xx (any status outside 200-299),
-- socket_errors (connect, read, write and timeout errors).
local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

bad = 0

function response(status, headers, body)
   if status < 200 or status > 299 then
      bad = bad + 1
   end
end

function done(summary, latency, requests)
   local non2xx = 0
   for _, t in ipairs(threads) do
      non2xx = non2xx + (t:get("bad") or 0)
   end
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      'RESULT {"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,' ..
      '"non2xx":%d,"socket_errors":%d}\n',
      summary.requests, secs, summary.requests / secs,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      non2xx, e.connect + e.read + e.write + e.timeout))
end
