-- One fixed request, from the environment: BENCH_METHOD (GET), BENCH_BODY (a form,
-- sent as application/x-www-form-urlencoded), BENCH_AUTH (an Authorization value).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY") or ""
if body ~= "" then
   wrk.body = body
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
local auth = os.getenv("BENCH_AUTH") or ""
if auth ~= "" then
   wrk.headers["Authorization"] = auth
end
