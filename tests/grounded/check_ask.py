#!/usr/bin/env python3
"""check_ask.py — `exaone ask` end to end: index the bundled example documents, ask a Korean and an
English question with a tiny random-weight model (content is noise; the test checks retrieval,
the JSON shape and the no-answer path), and check that an unrelated question is answered with the
fixed not-found sentence without running the model."""
import argparse, json, os, shutil, subprocess, sys

ap = argparse.ArgumentParser()
ap.add_argument("--cli"); ap.add_argument("--shared"); ap.add_argument("--docs"); ap.add_argument("--work")
a = ap.parse_args()
shutil.rmtree(a.work, ignore_errors=True)
os.makedirs(a.work)
model, db = os.path.join(a.work, "model"), os.path.join(a.work, "docs.db")
run = lambda *args: subprocess.run([a.cli, *args], capture_output=True, text=True, timeout=300)
r = run("random-model", "--shape", "tiny-exaone4", "--vocab", "102400", "--tokenizer",
        os.path.join(a.shared, "data/exaone-tokenizer/exaone-4.0"), "--out", model)
assert r.returncode == 0, r.stderr
r = run("index", "add", db, a.docs)
assert r.returncode == 0, r.stderr
passed = failed = 0
def check(cond, what):
    global passed, failed
    if cond: passed += 1
    else: failed += 1; print("FAIL", what, file=sys.stderr)

for q, want in [("백남준은 언제 태어났나요?", "nam_june_paik.txt"), ("When was tea first drunk in China?", "tea_history.pdf")]:
    r = run("ask", "-m", model, "--index", db, q, "-k", "3", "--max-chars", "300", "-n", "8", "--json")
    check(r.returncode == 0, f"ask exit code: {r.stderr}")
    if r.returncode: continue
    o = json.loads(r.stdout)
    check(o["question"] == q and o["found"] is True, "found")
    check(o["passages"] and o["passages"][0]["path"].endswith(want), f"top passage {o['passages'][0]['path'] if o['passages'] else None}")
    check(all(set(p) >= {"n", "path", "page", "title", "score", "text", "cited"} for p in o["passages"]), "passage fields")
    check(isinstance(o["answer"], str) and isinstance(o["citations"], list), "answer and citations")
    if want.endswith(".pdf"): check(o["passages"][0]["page"] == 1, "PDF page number")

r = run("ask", "-m", model, "--index", db, "qqzzxxyy", "--json")
o = json.loads(r.stdout) if r.returncode == 0 else {}
check(o.get("found") is False and o.get("answer") == "I could not find the answer in the provided documents.", f"not-found path {r.stdout}")
r = run("ask", "-m", model, "--index", db, "짜장면쀍쀍")
check(r.returncode == 0 and "제공된 문서에서 답을 찾을 수 없습니다." in r.stdout, f"Korean not-found path {r.stdout!r}")
r = run("ask", "-m", model, "--index", os.path.join(a.work, "missing.db"), "x")
check(r.returncode != 0 and r.stderr.count("\n") == 1, "missing index: one-line error")
# text mode streams the answer, then lists sources
r = run("ask", "-m", model, "--index", db, "백남준", "-k", "2", "--max-chars", "200", "-n", "4")
check(r.returncode == 0 and "Sources" in r.stdout and "nam_june_paik.txt" in r.stdout, f"text mode {r.stdout!r} {r.stderr}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
