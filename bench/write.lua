-- wrk script: one single-secret write per request to one of HOT_NAMES
-- names, with a value that differs every time (so every write is a real
-- change and makes a version).
--   BENCH_TARGET=hush: PUT  <BENCH_PATH>/HOT_nnn?env=production  {"value":…}
--   BENCH_TARGET=bao:  PATCH <BENCH_PATH> (KV v2 merge-patch)     {"data":{"HOT_nnn":…}}
local target = os.getenv("BENCH_TARGET") or "hush"
local path = os.getenv("BENCH_PATH")
local token = os.getenv("BENCH_TOKEN")
local names = tonumber(os.getenv("HOT_NAMES") or "200")
local counter = 0

function setup(thread)
  thread:set("id", math.random(1, 1000000))
end

function init(args)
  math.randomseed(os.time() + (id or 0))
end

request = function()
  counter = counter + 1
  local name = string.format("HOT_%03d", math.random(0, names - 1))
  local value = string.format("v-%d-%d-%s", counter, math.random(1, 1000000000), string.rep("x", 40))
  if target == "bao" then
    return wrk.format("PATCH", path,
      { ["X-Vault-Token"] = token, ["Content-Type"] = "application/merge-patch+json" },
      string.format('{"data":{"%s":"%s"}}', name, value))
  end
  return wrk.format("PUT", path .. "/" .. name .. "?env=production",
    { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" },
    string.format('{"value":"%s"}', value))
end
