#!/usr/bin/env python3
"""check_prepare.py — `exaone data prepare`: plain text with CRLF line endings is cut into
documents at blank lines; WikiExtractor <doc> blocks and JSONL lines are documents; exact
duplicates are dropped; .xz input works; the shard header and token count are consistent; the
val split is the same document set in a --val-only run; output ids equal `exaone tokenize`."""
import lzma, os, shutil, struct, subprocess, sys

exa, tok, work = sys.argv[1:4]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
passed = failed = 0
def check(c, what):
    global passed, failed
    if c: passed += 1
    else: failed += 1; print("FAIL", what, file=sys.stderr)
def prep(*args):
    r = subprocess.run([exa, "data", "prepare", "--tokenizer", tok, *args], capture_output=True, text=True)
    return r.returncode, r.stderr
def shard(path):
    b = open(path, "rb").read()
    h = struct.unpack("<256i", b[:1024])
    toks = struct.unpack("<%dI" % ((len(b) - 1024) // 4), b[1024:])
    return h, toks

para = "한국어 문단입니다. 이 문장은 테스트를 위한 것입니다. English words too.\r\n" * 40
crlf = os.path.join(work, "book.txt")
open(crlf, "wb").write(("\r\n".join(f"{k}번째 문단. " + para for k in range(6))).encode())  # 6 distinct ~3.5 KB paragraphs
wiki = os.path.join(work, "wiki.txt.xz")
docs = "".join(f'<doc id="{i}" title="t{i}">\n제목 {i}\n\n본문 {i} 내용입니다.\n</doc>\n' for i in range(20))
docs += '<doc id="99" title="dup">\n제목 0\n\n본문 0 내용입니다.\n</doc>\n'   # exact duplicate of doc 0
open(wiki, "wb").write(lzma.compress(docs.encode()))
jl = os.path.join(work, "chat.jsonl")
open(jl, "w").write('{"text": "[|user|]\\n안녕[|endofturn|]\\n"}\n{"other": 1}\n{"text": "second"}\n')

rc, err = prep("--out", os.path.join(work, "out"), "--name", "t", "--doc-bytes", "4000", "--val-fraction", "0.2", crlf, wiki, jl)
check(rc == 0, f"prepare: {err}")
summary = err.strip().splitlines()[-1] if err.strip() else ""
# CRLF book: 6 paragraphs of ~3.5 KB cut every >= 4000 bytes -> 3 documents; wiki: 20 docs (1 dup); jsonl: 2
check(summary.startswith("25 documents") and "1 exact duplicates" in summary, f"documents/dups: {summary}")
h, tr = shard(os.path.join(work, "out", "t_train_000.bin"))
hv, va = shard(os.path.join(work, "out", "t_val_000.bin"))
check(h[0] == 20240801 and h[1] == 7 and h[2] == len(tr) and hv[2] == len(va), "shard headers")
sep = 42  # <|endoftext|> in the EXAONE 4.0 vocabulary
check(tr.count(sep) + va.count(sep) == 25, "one separator per document")
# the jsonl doc "second" tokenized like exaone tokenize
ids = [int(x) for x in subprocess.run([exa, "tokenize", "-m", tok, "-p", "second"], capture_output=True, text=True).stdout.split()]
joined = tr + va
check(any(list(joined[i:i + len(ids) + 1]) == ids + [sep] for i in range(len(joined))), "ids equal exaone tokenize")
# --val-only over the same files gives the same validation tokens
rc, err = prep("--out", os.path.join(work, "val"), "--name", "t", "--doc-bytes", "4000", "--val-fraction", "0.2", "--val-only", crlf, wiki, jl)
hv2, va2 = shard(os.path.join(work, "val", "t_val_000.bin"))
check(rc == 0 and sorted(va2) == sorted(va) and not os.path.exists(os.path.join(work, "val", "t_train_000.bin")), "--val-only")
# a truncated .xz is an error, not a crash
bad = os.path.join(work, "bad.txt.xz")
open(bad, "wb").write(open(wiki, "rb").read()[:40])
rc, err = prep("--out", os.path.join(work, "bad"), bad)
check(rc != 0 and "bad.txt.xz" in err, f"truncated xz: {rc} {err}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
