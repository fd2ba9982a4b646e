-- wrk script: single contact.record commands for random synthetic persons, as an officer.
local token = io.open(os.getenv("HABEAS_LOAD_DIR") .. "/officer.token"):read("*l")
request = function()
  local n = math.random(1, 191548)
  local body = string.format('{"type":"contact.record","register_no":"SYN-%07d","at":"2024-03-31T12:00:00Z","kind":"letter"}', n)
  return wrk.format("POST", "/api/v1/commands", {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end
