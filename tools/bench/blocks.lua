-- wrk script for the block service (tools/bench/blocks.sh): BLOCKS_MODE picks the load.
--   put      PUT /block, a body of BLOCKS_SIZE bytes (default 4096), different
--            on every request (thread id + counter in the first bytes), so every
--            PUT stores a new block: a durable write per request
--   get      GET /block/<hash> over the hashes in BLOCKS_HASHES (a file, one hex
--            hash per line, written by blocks.sh after it PUT them)
-- Every answer's status is counted; done() prints the failures.
-- BLOCKS_TOKEN, if set, is sent as the bearer token (HBF_BLOCK_TOKEN).
local mode = os.getenv("BLOCKS_MODE") or "put"
local size = tonumber(os.getenv("BLOCKS_SIZE") or "4096")
local token = os.getenv("BLOCKS_TOKEN")
local headers = {}
if token and token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end
local filler = string.rep("b", size - 24)
local hashes = {}
local counter = 0
local threads = {}
local next_id = 0

setup = function(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  table.insert(threads, thread)
end

init = function()
  failures = 0
  if mode == "get" then
    for line in io.lines(os.getenv("BLOCKS_HASHES")) do
      if #line == 64 then
        table.insert(hashes, line)
      end
    end
  end
end

request = function()
  counter = counter + 1
  if mode == "put" then
    -- 24 bytes that differ per thread and request, then the filler.
    local body = string.format("%04d %018d ", id % 10000, counter) .. filler
    return wrk.format("PUT", "/block", headers, body)
  end
  local hash = hashes[(counter % #hashes) + 1]
  return wrk.format("GET", "/block/" .. hash, headers)
end

response = function(status, headers, body)
  if status ~= 200 then
    failures = failures + 1
  end
end

done = function(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("failures")
  end
  io.write(string.format("non-200 answers: %d\n", total))
end
