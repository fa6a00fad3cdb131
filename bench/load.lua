-- wrk script for bench/load.py. Arguments: path, expected status; for sign POSTs
-- also the Cookie header, the form body without its email, and an email prefix:
-- every POST carries a new address, <prefix>-<thread>-<n>@example.com.
-- Prints one line, "WRK {json}", with what wrk's own summary does not say: p95,
-- responses with the expected status, and requests sent but never answered
-- (cut off when the run ended; the server may still have stored them).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  path, expected = args[1], tonumber(args[2])
  cookie, form, prefix = args[3], args[4], args[5]
  sent, good, bad = 0, 0, 0
  headers = {
    ["Cookie"] = cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
end

function request()
  sent = sent + 1
  if form == nil then
    return wrk.format("GET", path)
  end
  local email = string.format("%s-%d-%d%%40example.com", prefix, id, sent)
  return wrk.format("POST", path, headers, form .. "&email=" .. email)
end

function response(status, headers, body)
  if status == expected then
    good = good + 1
  else
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total = { sent = 0, good = 0, bad = 0 }
  for _, thread in ipairs(threads) do
    for key, _ in pairs(total) do
      total[key] = total[key] + thread:get(key)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK {"responses": %d, "seconds": %.3f, "sent": %d, "expected": %d, ' ..
    '"unexpected": %d, "socket_errors": %d, "timeouts": %d, ' ..
    '"p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f}\n',
    summary.requests, summary.duration / 1e6, total.sent, total.good, total.bad,
    e.connect + e.read + e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000))
end
