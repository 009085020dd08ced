-- wrk script: rotates over the requests of a file written by `OcspFunctions.Benchmarks ocsp-requests`
-- (lines "GET-path<TAB>hex-DER").
--   wrk ... -s ocsp.lua URL -- FILE get    GET {URL path prefix}/{path}
--   wrk ... -s ocsp.lua URL -- FILE post   POST the DER to the URL's path, Content-Type application/ocsp-request
-- Requests are formatted once in init(); each thread starts at a different offset.
local requests = {}
local index = 0

function init(args)
  local file, mode = args[1], args[2]
  local prefix = wrk.path
  if prefix == "/" then prefix = "" end
  for line in io.lines(file) do
    local path, hex = line:match("^(%S+)\t(%x+)$")
    if path then
      if mode == "get" then
        requests[#requests + 1] = wrk.format("GET", prefix .. path)
      else
        local body = hex:gsub("..", function(h) return string.char(tonumber(h, 16)) end)
        requests[#requests + 1] = wrk.format("POST", wrk.path, { ["Content-Type"] = "application/ocsp-request" }, body)
      end
    end
  end
  if #requests == 0 then error("no requests in " .. tostring(file)) end
  index = math.random(#requests)
end

function request()
  index = index % #requests + 1
  return requests[index]
end
