"""load_test.py — bounded load test of `exaone serve` on loopback: N requests (default 500) from
32 concurrent clients, mixed: streaming chat, non-streaming chat, completions (streamed and
not), tokenize, and clients that hang up after the first event or mid-request. Passes when
nothing crashes, no response is 5xx (or anything but 200 for the clients that stay), every
stream ends with [DONE], all slots are free at the end, and RSS stays flat: the growth from the
end of a warm-up phase (first 20%) to the end must be under 24 MiB.
usage: load_test.py EXAONE_BINARY WORK_DIR [N_REQUESTS]"""
import json
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Checker, Server, make_model  # noqa: E402

exaone, work = sys.argv[1], sys.argv[2]
N = int(sys.argv[3]) if len(sys.argv) > 3 else 500
CLIENTS = 32
model = make_model(exaone, os.path.join(work, "tiny-load"))
check = Checker()
s = Server(exaone, model, "--parallel", "8", "--queue", "256", "--ctx", "1024", "-t", "2")
lock = threading.Lock()
next_i = [0]
stats = {"status": {}, "errors": [], "done_streams": 0, "streams": 0, "hangups": 0, "tokens": 0}
warm_rss = [None]
SYSTEM = "You are EXAONE, a helpful assistant made by LG AI Research. "


def one(i, rng):
    kind = rng.random()
    msgs = [{"role": "system", "content": SYSTEM * rng.randint(0, 3)},
            {"role": "user", "content": "질문 %d: %s" % (i, "서울 부산 대구 " * rng.randint(1, 8))}]
    mt = rng.randint(1, 24)
    if kind < 0.30:
        st, ev, done = s.stream("/v1/chat/completions", {"messages": msgs, "max_tokens": mt, "stream": True,
                                                         "stream_options": {"include_usage": True},
                                                         "temperature": 0.7 if rng.random() < 0.1 else 0})
        with lock:
            stats["streams"] += 1
            stats["done_streams"] += done
            if st == 200 and ev and ev[-1].get("usage"):
                stats["tokens"] += ev[-1]["usage"]["completion_tokens"]
        return st
    if kind < 0.55:
        st, js, _ = s.request("POST", "/v1/chat/completions", {"messages": msgs, "max_tokens": mt, "seed": i,
                                                               "temperature": 1.0 if rng.random() < 0.1 else 0})
        if st == 200:
            with lock:
                stats["tokens"] += js["usage"]["completion_tokens"]
        return st
    if kind < 0.70:
        body = {"prompt": "Once upon a time " * rng.randint(1, 10), "max_tokens": mt, "stream": rng.random() < 0.5,
                "logprobs": rng.choice([None, 2]), "temperature": 0}
        if body["stream"]:
            st, ev, done = s.stream("/v1/completions", body)
            with lock:
                stats["streams"] += 1
                stats["done_streams"] += done
            return st
        return s.request("POST", "/v1/completions", body)[0]
    if kind < 0.78:
        return s.request("POST", "/tokenize", {"prompt": "토큰 %d" % i})[0]
    if kind < 0.90:   # streaming client that hangs up after the first event
        st, ev, done = s.stream("/v1/chat/completions", {"messages": msgs, "max_tokens": 200, "stream": True,
                                                                  "temperature": 0}, max_events=1)
        with lock:
            stats["hangups"] += 1
        return "hangup" if st == 200 else st
    # non-streaming client that hangs up before the answer
    sk = socket.create_connection((s.host, s.port))
    body = json.dumps({"messages": msgs, "max_tokens": 200, "temperature": 0}).encode()
    sk.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
               % len(body) + body)
    time.sleep(rng.random() * 0.05)
    sk.close()
    with lock:
        stats["hangups"] += 1
    return "hangup"


def client(seed):
    rng = random.Random(seed)
    while True:
        with lock:
            i = next_i[0]
            if i >= N:
                return
            next_i[0] += 1
            if i == N // 5 and warm_rss[0] is None:
                warm_rss[0] = s.rss_kb()
        try:
            st = one(i, rng)
        except Exception as e:  # a crash or reset shows up here
            with lock:
                stats["errors"].append("%d: %r" % (i, e))
            continue
        with lock:
            stats["status"][st] = stats["status"].get(st, 0) + 1


t0 = time.time()
try:
    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - t0
    for _ in range(50):
        if s.metric("exaone_requests_running") == 0 and s.metric("exaone_queue_depth") == 0:
            break
        time.sleep(0.1)
    end_rss = s.rss_kb()
    print("%d requests in %.1f s from %d clients: %s; %d streams, %d hang-ups, %d tokens; RSS %d -> %d KiB" % (
        N, elapsed, CLIENTS, stats["status"], stats["streams"], stats["hangups"], stats["tokens"], warm_rss[0], end_rss))
    check(s.proc.poll() is None, "server alive")
    check(not stats["errors"], "client errors: %s" % stats["errors"][:5])
    check(all(k in (200, "hangup") for k in stats["status"]), "only 200s (and hang-ups): %s" % stats["status"])
    check(sum(stats["status"].values()) == N, "every request accounted for")
    check(stats["done_streams"] == stats["streams"], "every stream ended with [DONE] (%d/%d)" % (stats["done_streams"], stats["streams"]))
    check(s.metric("exaone_requests_running") == 0 and s.metric("exaone_queue_depth") == 0, "all slots free, queue empty")
    check(s.metric("exaone_requests_cancelled_total") >= 1, "hang-ups cancelled generations")
    check(end_rss - warm_rss[0] < 24 * 1024, "RSS flat: %d -> %d KiB" % (warm_rss[0], end_rss))
    m = s.request("GET", "/metrics")[2].decode()
    check('code="5' not in m, "no 5xx in the server's own counters")
finally:
    check(s.stop() == 0, "clean exit after SIGTERM")
sys.exit(check.end())
