#!/usr/bin/env python3
"""rag_test.py — the server's grounded answers: `exaone serve --index docs=DB` over the bundled
examples; POST /v1/retrieve returns passages; chat completions with "index" carry "citations"
(streamed and not); unknown index names and bad fields give OpenAI-style 400s.
usage: rag_test.py EXAONE WORKDIR DOCS_DIR"""
import json, os, subprocess, sys

sys.path.insert(0, os.path.dirname(__file__))
import harness

exa, work, docs = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(work, exist_ok=True)
model = harness.make_model(exa, os.path.join(work, "model-rag"))
db = os.path.join(work, "rag-docs.db")
if os.path.exists(db):
    os.remove(db)
subprocess.run([exa, "index", "add", db, docs], check=True, capture_output=True)
passed = failed = 0
def check(cond, what):
    global passed, failed
    if cond: passed += 1
    else: failed += 1; print("FAIL", what, file=sys.stderr)

s = harness.Server(exa, model, "--index", "docs=" + db)
try:
    st, js, _ = s.request("POST", "/v1/retrieve", {"index": "docs", "query": "백남준은 언제 태어났나요?", "k": 3})
    check(st == 200 and js["object"] == "list" and js["data"], f"retrieve: {st} {js}")
    if st == 200 and js["data"]:
        p = js["data"][0]
        check(p["path"].endswith("nam_june_paik.txt") and p["n"] == 1 and "text" in p and p["score"] > 0, f"top passage {p}")
    st, js, _ = s.request("POST", "/v1/retrieve", {"index": "nope", "query": "x"})
    check(st == 400 and js["error"]["param"] == "index", f"unknown index {st} {js}")
    st, js, _ = s.request("POST", "/v1/retrieve", {"index": "docs", "query": "x", "k": 0})
    check(st == 400 and js["error"]["param"] == "k", f"bad k {st} {js}")

    body = {"model": "m", "messages": [{"role": "system", "content": "ignored when grounded"},
                                       {"role": "user", "content": "When was tea first drunk in China?"}],
            "index": "docs", "index_k": 3, "max_tokens": 6, "temperature": 0}
    st, js, _ = s.request("POST", "/v1/chat/completions", body)
    check(st == 200 and js["object"] == "chat.completion", f"grounded chat {st} {js}")
    if st == 200:
        cites = js.get("citations")
        check(isinstance(cites, list) and cites and cites[0]["path"].endswith("tea_history.pdf") and cites[0]["page"] == 1
              and all("cited" in c for c in cites), f"citations {cites}")
        check(js["usage"]["prompt_tokens"] > 60, "the passages are in the prompt")
    st, events, done = s.stream("/v1/chat/completions", dict(body, stream=True))
    check(st == 200 and done and any("citations" in e for e in events), f"streamed citations {st} {done}")
    st, js, _ = s.request("POST", "/v1/chat/completions", dict(body, index="missing"))
    check(st == 400 and js["error"]["param"] == "index", f"unknown index in chat {st}")
    bad = dict(body, messages=[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}])
    st, js, _ = s.request("POST", "/v1/chat/completions", bad)
    check(st == 400 and js["error"]["param"] == "messages", f"last message must be the question {st}")
    st, js, _ = s.request("POST", "/v1/chat/completions", dict(body, index=5))
    check(st == 400 and js["error"]["param"] == "index", f"index must be a string {st}")
finally:
    s.stop() if hasattr(s, "stop") else s.proc.terminate()
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
