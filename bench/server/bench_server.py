"""bench_server.py — continuous-batching benchmark of `exaone serve`: for each concurrency C
(default 1, 4, 8, 16) C streaming clients ask at the same time for G greedy tokens after a
short chat prompt; reports per C the median time to first token (TTFT), the aggregate decode
throughput in the steady state (text chunks, about one per token, received by all streams in
the window where every stream is past its first token and none has finished, over that
window), the end-to-end aggregate (all tokens / wall time), the speed-up over C=1 and the
share of wall time the scheduler spent inside exa_context_decode, and generated tokens per
CPU-second of the server process (prompt work included; the stable figure on a shared,
overloaded machine — use --threads 1 for it, idle pool threads may spin). Each C is run R times (default 3); medians are reported. Never pass/fail.

usage: bench_server.py EXAONE_BINARY MODEL_DIR [--conc 1,4,8,16] [--tokens 64] [--reps 3]
                       [--threads N] [--ctx 512] [--quant q4]
The model folder is created with `exaone random-model --shape exaone4-1.2b --tokenizer ...`
(bf16) when it does not exist. Requests use temperature 0: sampling with temperature > 0 costs a
sort of the whole vocabulary on a random-weight model's flat logits, which is not what a real
model's peaked distribution costs."""
import argparse
import json
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../tests/server"))
from harness import Server, make_model  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("exaone")
ap.add_argument("model")
ap.add_argument("--conc", default="1,4,8,16")
ap.add_argument("--tokens", type=int, default=64)
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--threads", type=int, default=0)
ap.add_argument("--ctx", type=int, default=512)
ap.add_argument("--shape", default="exaone4-1.2b")
ap.add_argument("--quant", default=None, help="weights converted at load, e.g. q4 (llama.cpp's Q4_K_M mix) or q8")
a = ap.parse_args()
conc = [int(x) for x in a.conc.split(",")]
if not os.path.exists(a.model):   # a .gguf file or an existing folder is used as it is
    make_model(a.exaone, a.model, shape=a.shape)
args = ["--parallel", str(max(conc)), "--ctx", str(a.ctx)]
if a.threads:
    args += ["-t", str(a.threads)]
if a.quant:
    args += ["--quant", a.quant]
s = Server(a.exaone, a.model, *args)


run_id = [0]


def one(i, out):
    run_id[0] += 1   # a distinct prompt each time: no prefix reuse beyond the template's first tokens
    body = {"messages": [{"role": "user", "content": "%d. Write a long story about Seoul, number %d." % (run_id[0], i)}],
            "max_tokens": a.tokens, "temperature": 0, "stream": True, "stream_options": {"include_usage": True}}
    c = s.conn(600)
    t0 = time.time()
    c.request("POST", "/v1/chat/completions", body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    first = last = None
    n = 0
    times = []
    while True:
        line = r.readline()
        if not line:
            break
        if not line.startswith(b"data: ") or line.startswith(b"data: [DONE]"):
            continue
        ev = json.loads(line[6:])
        now = time.time()
        if ev.get("usage"):
            n = ev["usage"]["completion_tokens"]
        if ev.get("choices"):
            d = ev["choices"][0].get("delta", {})
            if d.get("content") or d.get("reasoning_content") or d.get("tool_calls"):
                times.append(now)
            if first is None:
                first = now
            last = now
    c.close()
    out[i] = (t0, first, last, n, times)


def cpu_seconds():
    """user+system CPU time of the server process (all its threads)"""
    with open("/proc/%d/stat" % s.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def counters():
    return (s.metric("exaone_decode_steps_total"), s.metric("exaone_batch_tokens_total"), s.metric("exaone_step_seconds_sum"),
            cpu_seconds())


def run(c):
    c0 = counters()
    out = [None] * c
    ts = [threading.Thread(target=one, args=(i, out)) for i in range(c)]
    t0 = time.time()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = time.time() - t0
    ttft = [o[1] - o[0] for o in out]
    # steady state: the window in which every stream has had its first token and none has
    # finished; text chunks (about one per token) arriving in it, over its length
    lo, hi = max(o[1] for o in out), min(o[2] for o in out)
    inside = sum(1 for o in out for t in o[4] if lo < t <= hi)
    dec = inside / (hi - lo) if hi - lo > 0 and inside >= c else float("nan")
    c1 = counters()
    steps = c1[0] - c0[0]
    busy = (c1[2] - c0[2]) / wall   # fraction of the wall time spent inside exa_context_decode
    ntok = sum(o[3] for o in out)
    per_cpu = ntok / (c1[3] - c0[3]) if c1[3] > c0[3] else float("nan")   # prompt work included
    return statistics.median(ttft), dec, ntok / wall, ntok, steps, busy, per_cpu


try:
    one(0, [None])   # warm-up: page in the weights
    rows = []
    for c in conc:
        res = [run(c) for _ in range(a.reps)]
        rows.append((c, statistics.median(r[0] for r in res), statistics.median(r[1] for r in res),
                     statistics.median(r[2] for r in res), res[0][3], statistics.median(r[5] for r in res),
                     statistics.median(r[6] for r in res)))
        print("C=%d done: %s" % (c, res), file=sys.stderr, flush=True)
    base = rows[0][2]
    print("| streams | median TTFT (s) | aggregate decode tok/s | end-to-end tok/s | decode vs 1 stream | time in forward steps "
          "| generated tokens per server CPU-second | vs 1 (CPU) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for c, ttft, dec, e2e, n, busy, pc in rows:
        print("| %d | %.3f | %.2f | %.2f | %.2f× | %.0f%% | %.2f | %.2f× |" % (c, ttft, dec, e2e, dec / base, 100 * busy, pc,
                                                                          pc / rows[0][6]))
    print("(%d tokens per stream, %d reps, model %s%s, %s)" % (a.tokens, a.reps, os.path.basename(a.model.rstrip("/")),
                                                          " --quant " + a.quant if a.quant else "",
                                                        "%d threads" % a.threads if a.threads else "all cores"))
finally:
    s.stop()
