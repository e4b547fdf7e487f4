-- wrk replays pre-signed webhooks: bench/bench_webhooks.py writes one file per
-- wrk thread (one connection each, so a journey's requests stay in order), one
-- request a line: path, X-Twilio-Signature and the form body, tab-separated.
-- Run as: wrk -t N -c N -s bench/webhooks.lua URL -- FOLDER

local threads = {}
local counter = 0

function setup(thread)
   thread:set("id", counter)
   table.insert(threads, thread)
   counter = counter + 1
end

function init(args)
   requests = {}
   wrapped = 0
   local file = assert(io.open(args[1] .. "/requests-" .. id .. ".txt", "r"))
   for line in file:lines() do
      local path, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", path, {
         ["Content-Type"] = "application/x-www-form-urlencoded",
         ["X-Twilio-Signature"] = signature,
      }, body)
   end
   file:close()
   position = 0
end

function request()
   position = position + 1
   if position > #requests then
      position = 1
      wrapped = wrapped + 1
   end
   return requests[position]
end

function done(summary, latency, requests)
   local wraps = 0
   for _, thread in ipairs(threads) do
      wraps = wraps + (thread:get("wrapped") or 0)
   end
   local errors = summary.errors
   io.write(string.format(
      "RESULT {\"requests\": %d, \"seconds\": %f, \"p50\": %f, \"p95\": %f, \"p99\": %f, " ..
      "\"errors\": %d, \"status_errors\": %d, \"wrapped\": %d}\n",
      summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
      latency:percentile(95) / 1e3, latency:percentile(99) / 1e3,
      errors.connect + errors.read + errors.write + errors.timeout, errors.status, wraps))
end
