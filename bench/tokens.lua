-- wrk script: each request carries the next session token from the file
-- named by $TOKENS (one per line), so many accounts share the load, as
-- real traffic would, instead of one account exhausting its own feed.
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do
  tokens[#tokens + 1] = line
end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. tokens[i] })
end
