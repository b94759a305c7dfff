-- wrk script: PUT a new note version on every request (a durable write in HBF).
counter = 0
request = function()
  counter = counter + 1
  local name = "bench" .. (counter % 200)
  return wrk.format("PUT", "/notes/" .. name, { ["Content-Type"] = "text/plain" }, "note body number " .. counter)
end
