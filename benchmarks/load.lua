-- wrk script for benchmarks/load.py. Configured through the environment (load.py sets it):
--   LOAD_MODE       `closed` (the next request goes as soon as the response is in) or `paced`: each
--                   connection sends one request every LOAD_PERIOD_MS, starting at a random phase, and does
--                   not burst to catch up after a late response (run with -t equal to -c: one connection a
--                   thread, so that a thread's schedule is its connection's).
--   LOAD_PERIOD_MS  the paced period (default 200).
--   LOAD_PORTS      comma-separated ports on the URL's host; thread i talks to port i mod #ports, which
--                   splits the load evenly between the processes behind them. Empty: the URL's port.
--   LOAD_PATHS      comma-separated request paths that each thread cycles through (starting at a different
--                   one per thread); empty: the URL's path.
-- Results are printed by done() as `LOAD key=value` lines.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } load_timespec;
  int clock_gettime(int clock_id, load_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local now_ts = ffi.new("load_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now_ts)
  return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
end

local function split(text)
  local items = {}
  for item in string.gmatch(text or "", "[^,]+") do
    items[#items + 1] = item
  end
  return items
end

-- Setup phase: runs in the main Lua state, once per thread, before the threads start.
local thread_count = 0
local threads = {}

function setup(thread)
  local ports = split(os.getenv("LOAD_PORTS"))
  if #ports > 0 then
    thread.addr = wrk.lookup(wrk.host, ports[(thread_count % #ports) + 1])[1]
  end
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
  threads[#threads + 1] = thread
end

-- Running phase: one Lua state per thread.
local period_ms = tonumber(os.getenv("LOAD_PERIOD_MS") or "200")
local next_send_ms = nil
local requests = {}
local next_request = 1
late = 0

local function paced_delay()
  local now = now_ms()
  if next_send_ms == nil then
    next_send_ms = now + math.random() * period_ms -- spread the pollers' phases over one period
  else
    next_send_ms = next_send_ms + period_ms
    if next_send_ms < now then
      late = late + 1 -- the last response took longer than a period: send at once, without a burst
      next_send_ms = now
    end
  end
  return math.floor(next_send_ms - now + 0.5)
end

local function cycling_request()
  local built = requests[next_request]
  next_request = (next_request % #requests) + 1
  return built
end

function init(args)
  local mode = os.getenv("LOAD_MODE") or "closed"
  local index = thread_index or 0
  if mode == "paced" then
    math.randomseed(1 + index * 7919)
    delay = paced_delay
  elseif mode ~= "closed" then
    error("LOAD_MODE must be `closed` or `paced`, not " .. mode)
  end
  local paths = split(os.getenv("LOAD_PATHS"))
  if #paths > 0 then
    for i = 1, #paths do
      requests[i] = wrk.format(nil, paths[i])
    end
    next_request = (index % #paths) + 1
    request = cycling_request
  end
end

function done(summary, latency, _)
  local late_total = 0
  for _, thread in ipairs(threads) do
    late_total = late_total + (thread:get("late") or 0)
  end
  local errors = summary.errors
  io.write("LOAD duration_us=", summary.duration, "\n")
  io.write("LOAD requests=", summary.requests, "\n")
  io.write("LOAD errors_connect=", errors.connect, "\n")
  io.write("LOAD errors_read=", errors.read, "\n")
  io.write("LOAD errors_write=", errors.write, "\n")
  io.write("LOAD errors_status=", errors.status, "\n")
  io.write("LOAD errors_timeout=", errors.timeout, "\n")
  io.write("LOAD late_sends=", late_total, "\n")
  io.write("LOAD latency_max_us=", latency.max, "\n")
  io.write("LOAD latency_p50_us=", latency:percentile(50), "\n")
  io.write("LOAD latency_p99_us=", latency:percentile(99), "\n")
end
