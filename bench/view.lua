-- wrk script: POST a 3 s view of the clip in $VIDEO as the account of
-- $TOKEN: one write (the view row, the event, the counters) per request.
request = function()
  return wrk.format("POST", "/api/v1/videos/" .. os.getenv("VIDEO") .. "/views",
    { ["Authorization"] = "Bearer " .. os.getenv("TOKEN"), ["Content-Type"] = "application/json" },
    '{"watched_ms": 3000, "completed": false, "loops": 0}')
end
