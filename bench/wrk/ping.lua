-- JSON-RPC `ping` over HTTP for wrk (https://github.com/wg/wrk); every
-- answer is checked, and the count of wrong ones printed at the end.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","method":"ping","id":1}'
wrk.headers["Content-Type"] = "application/json"

wrong = 0

function response(status, headers, body)
  local answer = body:gsub("%s", "")
  if status ~= 200 or not answer:find('"result":"pong"', 1, true) or not answer:find('"id":1[,}]') then
    wrong = wrong + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("wrong")
  end
  io.write(string.format("wrong answers: %d\n", total))
end
