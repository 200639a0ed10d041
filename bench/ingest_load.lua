-- wrk script for bench/server_ingest.py: every request carries reports no earlier request carried.
--
--   wrk -t2 -c16 -d10s -s bench/ingest_load.lua URL -- MODE RUN OCCURRED_AT BATCH USAGES_PER_THREAD
--
-- MODE   single  POST /api/v1/events with one report (also the trivial endpoint's /events)
--        batch   POST /api/v1/events/batch with BATCH reports (also the trivial endpoint's)
--        legacy  POST /errors/<uuid>/ of the 0.1.1 server, each to a usage of its own (0.1.1 refuses
--                a second error within 5 s on one usage); the usages were written beforehand with
--                uuids "%08x%08x%016x" of (RUN, thread, n) for n = 1 .. USAGES_PER_THREAD
-- RUN    a number unique to this wrk run, so event ids never repeat across runs
-- Event ids are 32 hex digits (RUN, thread, counter); 20 error names spread the reports over 20 issues
-- of one notebook, 250 sessions per thread. done() prints one JSON line the bench reads.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  mode = args[1]
  run = tonumber(args[2])
  occurred_at = args[3]
  batch = tonumber(args[4])
  usages = tonumber(args[5])
  headers = { ["Content-Type"] = "application/json" }
end

local function hex_id(kind, n)
  return string.format("%08x%04x%04x%016x", run, kind, tid, n)
end

local function report(n)
  return string.format(
    '{"event_id":"%s","session_id":"%s","notebook":"ingest-bench","error_name":"Error%d",'
      .. '"error_message":"name \'protein_%d\' is not defined",'
      .. '"traceback":[{"filename":"<cell 7>","fun_name":"<module>","lineno":2},'
      .. '{"filename":"pandas/core/frame.py","fun_name":"__getitem__","lineno":3761}],'
      .. '"first_line":"df = load(%d)","execution_count":%d,"occurred_at":"%s",'
      .. '"client":{"reporter":"0.2.0","python":"3.11","ipython":"8.12","platform":"linux"}}',
    hex_id(1, n), hex_id(2, n % 250), n % 20, n, n % 97, n % 50, occurred_at
  )
end

function request()
  counter = counter + 1
  if mode == "single" then
    return wrk.format("POST", "/api/v1/events", headers, report(counter))
  elseif mode == "batch" then
    local parts = {}
    for k = 1, batch do
      parts[k] = report((counter - 1) * batch + k)
    end
    return wrk.format("POST", "/api/v1/events/batch", headers, '{"events":[' .. table.concat(parts, ",") .. "]}")
  else
    local usage = string.format("%08x%08x%016x", run, tid, ((counter - 1) % usages) + 1)
    local body = string.format(
      '{"error_name":"KeyError","error_message":"\'protein_%d\'",'
        .. '"traceback":[{"filename":"/home/ada/work/cell.py","fun_name":"<module>","lineno":2}],'
        .. '"execution_count":%d,"first_line":"df = load(%d)"}',
      counter, counter % 50, counter % 97
    )
    return wrk.format("POST", "/errors/" .. usage .. "/", headers, body)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,'
      .. '"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency.max
  ))
end
