"""e2e_test.py — `exaone serve` end to end on a tiny random-weight EXAONE 4.0 model (real
tokenizer and chat template): response shapes of every endpoint, raw SSE through curl, error
objects (400/401/404/405/413/429), prompt-prefix reuse, batching does not change greedy output,
stop strings, client disconnect cancels the generation, SIGTERM drains in-flight streams.
usage: e2e_test.py EXAONE_BINARY WORK_DIR"""
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Checker, Server, make_model  # noqa: E402

exaone, work = sys.argv[1], sys.argv[2]
model = make_model(exaone, os.path.join(work, "tiny-e2e"))
check = Checker()
USER = [{"role": "user", "content": "안녕하세요? 오늘 서울 날씨 어때요?"}]


def shapes(s):
    st, js, _ = s.request("GET", "/health")
    check(st == 200 and js == {"status": "ok"}, "health")
    st, js, _ = s.request("GET", "/v1/models")
    check(st == 200 and js["object"] == "list" and js["data"][0]["object"] == "model" and js["data"][0]["id"] == "tiny-e2e",
          "models: %s" % js)
    st, js, _ = s.request("POST", "/v1/chat/completions", {"model": "tiny-e2e", "messages": USER, "max_tokens": 12, "seed": 3,
                                                           "temperature": 0.5})
    check(st == 200, "chat status %d %s" % (st, js))
    ch = js["choices"][0]
    check(js["object"] == "chat.completion" and js["id"].startswith("chatcmpl-") and isinstance(js["created"], int)
          and js["model"] == "tiny-e2e", "chat envelope")
    check(ch["message"]["role"] == "assistant" and isinstance(ch["message"]["content"], str), "chat message")
    check(ch["finish_reason"] in ("stop", "length"), "finish_reason")
    u = js["usage"]
    st2, tk, _ = s.request("POST", "/tokenize", {"messages": USER})
    check(st2 == 200 and u["prompt_tokens"] == tk["count"], "usage.prompt_tokens %d == /tokenize count %s" % (u["prompt_tokens"], tk))
    check(u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"] and u["completion_tokens"] <= 12, "usage sums")
    st, js, _ = s.request("POST", "/v1/completions", {"prompt": "The capital of Korea is", "max_tokens": 5, "temperature": 0,
                                                      "logprobs": 3})
    check(st == 200 and js["object"] == "text_completion" and js["id"].startswith("cmpl-"), "completion envelope")
    lp = js["choices"][0]["logprobs"]
    check(len(lp["tokens"]) == 5 and len(lp["top_logprobs"][0]) == 3 and all(x <= 0 for x in lp["token_logprobs"]), "completion logprobs")
    check("".join(lp["tokens"]) == js["choices"][0]["text"], "logprob tokens spell the text")
    st, js, _ = s.request("POST", "/detokenize", {"tokens": tk["tokens"]})
    check(st == 200 and "[|user|]" in js["prompt"] and "서울" in js["prompt"], "detokenize")
    # chat logprobs
    st, js, _ = s.request("POST", "/v1/chat/completions", {"messages": USER, "max_tokens": 3, "logprobs": True, "top_logprobs": 2})
    c = js["choices"][0]["logprobs"]["content"]
    check(st == 200 and len(c) == 3 and len(c[0]["top_logprobs"]) == 2 and isinstance(c[0]["bytes"], list), "chat logprobs")


def curl_sse(s):
    body = json.dumps({"messages": USER, "max_tokens": 8, "stream": True, "stream_options": {"include_usage": True},
                       "temperature": 0})
    out = subprocess.run(["curl", "-sN", "-H", "Content-Type: application/json", "-d", body, s.url + "/v1/chat/completions"],
                         capture_output=True, check=True).stdout.decode()
    check(out.endswith("data: [DONE]\n\n"), "SSE ends with [DONE]")
    events = [e for e in out.split("\n\n") if e]
    check(all(e.startswith("data: ") for e in events), "every SSE event is a data: line")
    js = [json.loads(e[6:]) for e in events[:-1]]
    check(js[0]["choices"][0]["delta"].get("role") == "assistant", "first delta carries the role")
    check(all(j["object"] == "chat.completion.chunk" and j["id"] == js[0]["id"] for j in js), "chunk objects share one id")
    check(js[-1]["choices"] == [] and js[-1]["usage"]["completion_tokens"] == 8, "include_usage chunk: %s" % js[-1])
    check(js[-2]["choices"][0]["finish_reason"] == "length", "last choice chunk has finish_reason")
    # text completion stream via curl
    body = json.dumps({"prompt": "Hello", "max_tokens": 4, "stream": True})
    out = subprocess.run(["curl", "-sN", "-d", body, s.url + "/v1/completions"], capture_output=True, check=True).stdout.decode()
    js = [json.loads(e[6:]) for e in out.split("\n\n") if e and e != "data: [DONE]"]
    check(all(j["object"] == "text_completion" for j in js) and js[-1]["choices"][0]["finish_reason"] == "length", "completion SSE")


def errors(s):
    def err(st, js, want, param=None):
        ok = st == want and isinstance(js, dict) and set(js.get("error", {}).keys()) >= {"message", "type", "param", "code"}
        if param:
            ok = ok and js["error"]["param"] == param
        return ok
    st, js, _ = s.request("POST", "/v1/chat/completions", raw=b'{"messages": [')
    check(err(st, js, 400), "malformed JSON -> 400 (%d %s)" % (st, js))
    st, js, _ = s.request("POST", "/v1/chat/completions", {"messages": USER, "temperature": "hot"})
    check(err(st, js, 400, "temperature"), "wrong type -> 400 param temperature")
    st, js, _ = s.request("POST", "/v1/completions", {"prompt": "word " * 400})
    check(err(st, js, 400, "prompt") and js["error"]["code"] == "context_length_exceeded" and "maximum context length" in js["error"]["message"],
          "prompt longer than the context -> 400: %s" % js)
    st, js, _ = s.request("POST", "/v1/completions", {"prompt": "hi", "max_tokens": 100000})
    check(err(st, js, 400, "max_tokens"), "max_tokens beyond the context -> 400")
    st, js, _ = s.request("GET", "/v1/nothing")
    check(err(st, js, 404), "unknown path -> 404")
    st, js, _ = s.request("GET", "/v1/chat/completions")
    check(err(st, js, 405), "GET on a POST endpoint -> 405")
    st, js, _ = s.request("POST", "/v1/completions", raw=b'{"prompt": "' + b"a" * 20000 + b'"}')
    check(err(st, js, 413), "body over --max-body -> 413 (%d)" % st)
    # chunked upload over the limit (no Content-Length)
    c = s.conn()
    c.putrequest("POST", "/v1/completions")
    c.putheader("Transfer-Encoding", "chunked")
    c.endheaders()
    for _ in range(10):
        c.send(b"800\r\n" + b" " * 2048 + b"\r\n")
    c.send(b"0\r\n\r\n")
    r = c.getresponse()
    check(r.status == 413, "chunked body over the limit -> 413 (%d)" % r.status)
    c.close()


def prefix_and_batching(s):
    msgs = [{"role": "system", "content": "You are EXAONE, a helpful assistant. " * 4}, {"role": "user", "content": "첫 질문"}]
    st, a, _ = s.request("POST", "/v1/chat/completions", {"messages": msgs, "max_tokens": 4, "temperature": 0})
    msgs[1]["content"] = "두 번째 질문"
    st, b, _ = s.request("POST", "/v1/chat/completions", {"messages": msgs, "max_tokens": 4, "temperature": 0})
    cached = b["usage"]["prompt_tokens_details"]["cached_tokens"]
    check(st == 200 and cached >= 30, "prefix reuse: %d of %d prompt tokens cached" % (cached, b["usage"]["prompt_tokens"]))
    # greedy output alone == greedy output while other requests share the batch
    req = {"prompt": "Seoul is a city where", "max_tokens": 16, "temperature": 0}
    _, alone, _ = s.request("POST", "/v1/completions", req)
    results = {}

    def worker(i):
        body = dict(req) if i == 0 else {"prompt": "other prompt %d " % i * (i + 1), "max_tokens": 24, "temperature": 0.8, "seed": i}
        results[i] = s.request("POST", "/v1/completions", body)
    ts = [threading.Thread(target=worker, args=(i,)) for i in (1, 2, 3, 0)]
    for t in ts:
        t.start()
        time.sleep(0.01)
    for t in ts:
        t.join()
    check(all(results[i][0] == 200 for i in results), "concurrent requests succeed")
    check(results[0][1]["choices"][0]["text"] == alone["choices"][0]["text"],
          "batched greedy text == alone: %r vs %r" % (results[0][1]["choices"][0]["text"], alone["choices"][0]["text"]))
    # same seed -> same sample
    r1 = s.request("POST", "/v1/completions", {"prompt": "x", "max_tokens": 8, "seed": 42, "temperature": 1.0})[1]
    r2 = s.request("POST", "/v1/completions", {"prompt": "x", "max_tokens": 8, "seed": 42, "temperature": 1.0})[1]
    check(r1["choices"][0]["text"] == r2["choices"][0]["text"], "same seed, same output")
    # stop string taken from the greedy output
    text = alone["choices"][0]["text"]
    words = text.split()
    if len(words) >= 3:
        stop = words[2]
        _, js, _ = s.request("POST", "/v1/completions", dict(req, stop=[stop]))
        check(js["choices"][0]["finish_reason"] == "stop" and js["choices"][0]["text"] == text[:text.index(stop)],
              "stop string %r: %r" % (stop, js["choices"][0]["text"]))


def disconnect(s):
    before = s.metric("exaone_requests_cancelled_total")
    st, ev, done = s.stream("/v1/chat/completions", {"messages": USER, "max_tokens": 200, "stream": True,
                                                               "temperature": 0}, max_events=2)
    check(st == 200 and len(ev) == 2 and not done, "read two events then hang up")
    for _ in range(100):  # the stream's cancellation first, so the next check sees only the second request
        if s.metric("exaone_requests_cancelled_total") >= before + 1 and s.metric("exaone_requests_running") == 0:
            break
        time.sleep(0.05)
    # non-streaming client that gives up
    sk = socket.create_connection((s.host, s.port))
    body = json.dumps({"prompt": "x", "max_tokens": 200, "temperature": 0}).encode()
    sk.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    for _ in range(100):  # hang up only once the server is generating for it (a loaded CI machine is slow)
        if s.metric("exaone_requests_running") >= 1:
            break
        time.sleep(0.05)
    sk.close()
    for _ in range(100):
        if s.metric("exaone_requests_cancelled_total") >= before + 2 and s.metric("exaone_requests_running") == 0:
            break
        time.sleep(0.1)
    check(s.metric("exaone_requests_cancelled_total") >= before + 2, "both disconnects cancelled their generation")
    check(s.metric("exaone_requests_running") == 0, "slots freed")
    m = s.request("GET", "/metrics")[2].decode()
    for name in ("exaone_requests_total{", "exaone_generation_tokens_total", "exaone_queue_depth", "exaone_time_to_first_token_seconds_bucket",
                 "exaone_request_latency_seconds_count", "exaone_prompt_tokens_total"):
        check(name in m, "metric %s" % name)


def auth(exaone):
    s = Server(exaone, model, "--api-key", "sekret", "--parallel", "1", "-t", "1")
    try:
        st, js, _ = s.request("GET", "/v1/models")
        check(st == 401 and js["error"]["type"] == "authentication_error", "no key -> 401")
        st, js, _ = s.request("GET", "/v1/models", headers={"Authorization": "Bearer wrong"})
        check(st == 401, "wrong key -> 401")
        st, js, _ = s.request("GET", "/v1/models", headers={"Authorization": "Bearer sekret"})
        check(st == 200, "right key -> 200")
        st, _, _ = s.request("GET", "/health")
        check(st == 200, "/health needs no key")
    finally:
        check(s.stop() == 0, "exit 0")


def queue_full(exaone):
    s = Server(exaone, model, "--parallel", "1", "--queue", "1", "-t", "1")
    try:
        res = []

        def w():
            res.append(s.request("POST", "/v1/completions", {"prompt": "x", "max_tokens": 150, "temperature": 0})[0])
        ts = [threading.Thread(target=w) for _ in range(5)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        check(429 in res and 200 in res and all(x in (200, 429) for x in res), "queue full -> 429: %s" % res)
    finally:
        s.stop()


def drain(exaone):
    s = Server(exaone, model, "--parallel", "2", "--ctx", "1024", "-t", "1")
    out = {}

    def w():
        out["r"] = s.stream("/v1/chat/completions", {"messages": USER, "max_tokens": 600, "stream": True,
                                                                   "temperature": 0})
    t = threading.Thread(target=w)
    t.start()
    time.sleep(0.2)
    s.proc.send_signal(15)
    time.sleep(0.2)
    try:
        socket.create_connection((s.host, s.port), timeout=2).close()
        refused = False
    except OSError:
        refused = True
    t.join()
    rc = s.proc.wait(30)
    st, ev, done = out["r"]
    check(st == 200 and done and ev[-1]["choices"][0]["finish_reason"] == "length", "in-flight stream finished during drain")
    check(refused, "no new connections after SIGTERM")
    check(rc == 0, "exit 0 after drain (%s)" % rc)


s = Server(exaone, model, "--parallel", "4", "--max-body", "16384", "--ctx", "256", "-t", "2")
try:
    shapes(s)
    curl_sse(s)
    errors(s)
    prefix_and_batching(s)
    disconnect(s)
finally:
    check(s.stop() == 0, "server exits 0 on SIGTERM")
auth(exaone)
queue_full(exaone)
drain(exaone)
sys.exit(check.end())
