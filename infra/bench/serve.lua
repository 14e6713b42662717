-- wrk script of infra/bench/serve: each thread sends its share of the pre-generated lines of
-- BENCH_FILE, each once (every request distinct). BENCH_MODE=events: signed json form events
-- (more lines than the run can send: wrk always runs its whole -d, so a thread out of lines
-- sends reads, counted apart and reported); BENCH_MODE=reads: GET /leads/{email} with
-- BENCH_KEY, cycling over the emails.
local mode = os.getenv("BENCH_MODE")
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(os.getenv("BENCH_THREADS"))
  lines = {}
  local n = 0
  for line in io.lines(os.getenv("BENCH_FILE")) do
    if n % nthreads == id then table.insert(lines, line) end
    n = n + 1
  end
  next_line, answered, failed, spare = 1, 0, 0, 0
  key = os.getenv("BENCH_KEY")
end

local function url_encode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
  local line = lines[next_line]
  if mode == "reads" then
    next_line = next_line % #lines + 1
    return wrk.format("GET", "/leads/" .. url_encode(line), { ["authorization"] = "Bearer " .. key })
  end
  if line == nil then
    -- Out of distinct events: a harmless read until the thread stops.
    return wrk.format("GET", "/leads/none%40example.com", { ["authorization"] = "Bearer " .. key })
  end
  next_line = next_line + 1
  local id, ts, sig, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
  return wrk.format("POST", "/webhooks/forms/json", {
    ["content-type"] = "application/json",
    ["webhook-id"] = id, ["webhook-timestamp"] = ts, ["webhook-signature"] = sig,
  }, body)
end

function response(status, headers, body)
  if mode ~= "reads" and not string.find(body, '"accepted"', 1, true) and status == 404 then
    spare = spare + 1
    return
  end
  answered = answered + 1
  if status ~= 200 then
    failed = failed + 1
    if failed <= 3 then io.stderr:write("status " .. status .. ": " .. body .. "\n") end
  end
end

function done(summary, latency, requests)
  local ok, bad, spare = 0, 0, 0
  for _, t in ipairs(threads) do
    ok = ok + t:get("answered") - t:get("failed")
    bad = bad + t:get("failed")
    spare = spare + t:get("spare")
  end
  local secs = summary.duration / 1e6
  if spare > 0 then io.write("WARNING: out of distinct events: " .. spare .. " reads sent instead\n") end
  io.write(string.format("RESULT answered_200=%d other=%d seconds=%.2f per_second=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    ok, bad, secs, (ok + bad) / secs, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
