-- wrk script for bench/server_ingest.py: every request carries reports no earlier request carried.
--
--   wrk -t2 -c16 -d10s -s bench/ingest_load.lua URL -- MODE RUN OCCURRED_AT BATCH USAGES_PER_THREAD
--
-- MODE   single  POST /api/v1/events with one report (also the trivial endpoint's /events)
--        batch   POST /api/v1/events/batch with BATCH reports (also the trivial endpoint's)
--        crowd   single reports as a popular notebook's strangers send them: every request from an
--                address of its own (X-Forwarded-For; the server trusts the bench as its proxy), a
--                new session every 10 reports, 8 notebooks, varied error names, messages and cells
--        crowd-batch  the crowd in batches of BATCH: one session (and address, and notebook) per
--                batch, as a real client sends them, varied reports within
--        legacy  POST /errors/<uuid>/ of the 0.1.1 server, each to a usage of its own (0.1.1 refuses
--                a second error within 5 s on one usage); the usages were written beforehand with
--                uuids "%08x%08x%016x" of (RUN, thread, n) for n = 1 .. USAGES_PER_THREAD
-- RUN    a number unique to this wrk run, so event ids never repeat across runs
-- Event ids are 32 hex digits (RUN, thread, counter); 20 error names spread the reports over 20 issues
-- of one notebook, 250 sessions per thread (the kind mix). The crowd's notebooks are named
-- "ingest-bench-crowd-N". done() prints one JSON line the bench reads.

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

-- The crowd's variety: 12 error names, messages with the names of their objects, 24 cells (first
-- lines), lines and execution counts that move: about 8 x 12 x 24 issues over the run.
local ERRORS = {
  "KeyError", "ValueError", "NameError", "TypeError", "IndexError", "AttributeError",
  "ZeroDivisionError", "FileNotFoundError", "ModuleNotFoundError", "RuntimeError",
  "AssertionError", "ImportError",
}
local CELLS = {
  "df = pd.read_csv('data/%d.csv')", "model.fit(X_train, y_train)", "plt.plot(xs[%d], ys)",
  "result = run_experiment(%d)", "import torch", "tokens = tokenizer(texts[%d])",
  "x = np.linalg.inv(m)", "print(results['score_%d'])", "ds = load_dataset('glue', 'sst%d')",
  "summary = df.groupby('k%d').mean()", "y = f(%d) / g(0)", "with open('out/%d.json') as f:",
  "answer = ask(prompt_%d)", "net.train(epochs=%d)", "assert len(rows) == %d", "from mylib import helper",
  "frame = frames.pop(%d)", "img = Image.open(paths[%d])", "value = config['layer_%d']",
  "loss.backward()", "scores = cross_val_score(clf, X, y, cv=%d)", "q = queue.get(timeout=%d)",
  "arr = arr.reshape(%d, -1)", "resp = requests.get(urls[%d])",
}

local function address(n)
  return string.format("10.%d.%d.%d", tid * 32 + math.floor(n / 65536) % 32, math.floor(n / 256) % 256, n % 256)
end

-- One crowd report: the n-th of this thread, in session s of notebook book.
local function crowd_report(n, s, book)
  local e = (n * 7 + s) % #ERRORS + 1
  local c = (n * 5 + s * 3) % #CELLS + 1
  local first_line = string.format(CELLS[c], n % 13)
  return string.format(
    '{"event_id":"%s","session_id":"%s","notebook":"ingest-bench-crowd-%d","error_name":"%s",'
      .. '"error_message":"%s \'item_%d\' in step %d","traceback":[{"filename":"<cell %d>",'
      .. '"fun_name":"<module>","lineno":%d},{"filename":"lib/site-packages/pkg/mod%d.py",'
      .. '"fun_name":"call_%d","lineno":%d}],"first_line":"%s","execution_count":%d,"occurred_at":"%s",'
      .. '"client":{"reporter":"0.2.0","python":"3.1%d","ipython":"8.%d","platform":"linux"}}',
    hex_id(3, n), hex_id(4, s), book, ERRORS[e], ERRORS[e], n % 101, n % 17, n % 40 + 1, n % 9 + 1,
    e, c, 100 + n % 300, first_line, n % 40 + 1, occurred_at, n % 3 + 1, n % 20
  )
end

local function crowd_headers(n)
  return { ["Content-Type"] = "application/json", ["X-Forwarded-For"] = address(n) }
end

function request()
  counter = counter + 1
  if mode == "crowd" then
    local s = math.floor(counter / 10)
    return wrk.format("POST", "/api/v1/events", crowd_headers(counter), crowd_report(counter, s, s % 8))
  elseif mode == "crowd-batch" then
    local parts = {}
    for k = 1, batch do
      parts[k] = crowd_report((counter - 1) * batch + k, counter, counter % 8)
    end
    local body = '{"events":[' .. table.concat(parts, ",") .. "]}"
    return wrk.format("POST", "/api/v1/events/batch", crowd_headers(counter), body)
  elseif mode == "single" then
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
