-- wrk script for benchmarks/hostile_connections.py: every request carries a different random API key, none
-- of them valid, so that no answer can come from a cache: each costs the server a key lookup (and a 401).
-- FLOOD_PATH: the request path (default: the AI/ML status poll of generation 1).

local path = os.getenv("FLOOD_PATH") or "/v2/generate/video/minimax/generation?generation_id=1"
local hex = "0123456789abcdef"

function init(args)
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
end

local function random_key()
  local chars = {}
  for i = 1, 32 do
    local n = math.random(1, 16)
    chars[i] = hex:sub(n, n)
  end
  return "sk-" .. table.concat(chars)
end

function request()
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. random_key() })
end

function done(summary, latency, _)
  io.write("FLOOD requests=", summary.requests, " duration_us=", summary.duration,
    " errors=", summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    " status_errors=", summary.errors.status, "\n")
end
