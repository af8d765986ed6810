-- The refresh_token grant with rotation: every request presents a refresh token never
-- used before. Each thread starts with its share of a pre-minted pool (the file in
-- BENCH_POOL, one token a line; BENCH_THREADS threads) and puts the refresh token of
-- every answer back at the end of its queue, so the pool never runs dry while answers
-- succeed. BENCH_AUTH is the client's Authorization value.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local auth = os.getenv("BENCH_AUTH")
local queue, head, tail = {}, 1, 0

function init(args)
   local threads = tonumber(os.getenv("BENCH_THREADS"))
   local i = 0
   for line in io.lines(os.getenv("BENCH_POOL")) do
      if line ~= "" and i % threads == id then
         tail = tail + 1
         queue[tail] = line
      end
      i = i + 1
   end
end

local headers = {
   ["Authorization"] = auth,
   ["Content-Type"] = "application/x-www-form-urlencoded",
}

function request()
   local token = "pool-exhausted"
   if head <= tail then
      token = queue[head]
      queue[head] = nil
      head = head + 1
   end
   return wrk.format("POST", nil, headers, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      bad = bad + 1
      return
   end
   local rt = string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
   if rt then
      tail = tail + 1
      queue[tail] = rt
   else
      bad = bad + 1
   end
end
