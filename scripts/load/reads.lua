-- wrk script: whereabouts of random synthetic register numbers, as a monitor.
local token = io.open(os.getenv("HABEAS_LOAD_DIR") .. "/reader.token"):read("*l")
request = function()
  local n = math.random(1, 191548)
  return wrk.format("GET", string.format("/api/v1/whereabouts/SYN-%07d", n), {["Authorization"] = "Bearer " .. token})
end
