-- wrk script for the dev API (tools/bench/dev_api.py): DEV_MODE picks the load.
--   put   PUT 1 KB of new content to one of 1000 paths (a durable write per request)
--   list  GET /__dev/api/files (the whole pod's metadata)
--   mixed PUT, GET file, list in turn
-- Every answer's status is counted; done() prints the 5xx and other failures.
local token = os.getenv("HBF_DEV_TOKEN")
local mode = os.getenv("DEV_MODE") or "put"
local auth = { ["Authorization"] = "Bearer " .. token }
local filler = string.rep("x", 1015) .. "\n"
local counter = 0
local threads = {}

setup = function(thread)
  table.insert(threads, thread)
end

init = function()
  server_errors = 0
  other_errors = 0
end

local function put()
  local path = "bench/f" .. (counter % 1000) .. ".txt"
  -- 1 KB, different on every request: each PUT stores new content.
  local body = string.format("%08d", counter % 100000000) .. filler
  return wrk.format("PUT", "/__dev/api/file?path=" .. path, auth, body)
end

local function list()
  return wrk.format("GET", "/__dev/api/files?prefix=", auth)
end

local function get()
  return wrk.format("GET", "/__dev/api/file?path=bench/f" .. (counter % 1000) .. ".txt", auth)
end

request = function()
  counter = counter + 1
  if mode == "put" then
    return put()
  elseif mode == "list" then
    return list()
  end
  local k = counter % 3
  if k == 0 then return put() elseif k == 1 then return get() else return list() end
end

response = function(status, headers, body)
  if status >= 500 then
    server_errors = server_errors + 1
  elseif status >= 400 then
    other_errors = other_errors + 1
  end
end

done = function(summary, latency, requests)
  local s, o = 0, 0
  for _, t in ipairs(threads) do
    s = s + t:get("server_errors")
    o = o + t:get("other_errors")
  end
  io.write(string.format("dev_api: 5xx=%d 4xx=%d\n", s, o))
end
