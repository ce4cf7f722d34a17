#!/usr/bin/python3
"""bad_inputs.py — ctest driver for the loader's error handling on corrupt model folders.

Runs `exaone info -m DIR/<case>` on one folder written by tools/make_bad_inputs.py and requires:
  bad case:  non-zero exit status below 128 (no signal / crash), no sanitizer report, exactly one
             non-empty line on stderr that names the expected file (config.json, the .safetensors
             shard, or the index) and contains one of the case's problem words, done within 10 s
             and within a 1 GiB address-space limit (no huge allocation);
  good case: exit status 0 (the controls make sure the checks are not passed by failing always).

usage: bad_inputs.py --dir DIR --case NAME --cli EXE
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

TIMEOUT_S = 10
AS_LIMIT = 1 << 30  # RLIMIT_AS for the CLI (skipped under ASan, which reserves huge shadow mappings)


def limit_memory():
    if "asan" not in os.environ.get("EXA_SANITIZE", "").lower():
        resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--case", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--sanitized", action="store_true", help="the CLI is built with ASan (no memory limit)")
    a = ap.parse_args()
    if a.sanitized:
        os.environ["EXA_SANITIZE"] = "asan"
    with open(os.path.join(a.dir, "manifest.json")) as f:
        spec = json.load(f)[a.case]
    mdir = os.path.join(a.dir, a.case)
    argv = [a.cli, "info", "-m", mdir]
    t0 = time.time()
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT_S,
                           preexec_fn=limit_memory)
    except subprocess.TimeoutExpired:
        print("FAIL: %s took more than %d s" % (" ".join(argv), TIMEOUT_S))
        return 1
    dt = time.time() - t0
    err = p.stderr.decode("utf-8", "replace")
    lines = [l for l in err.split("\n") if l.strip()]
    print("$ %s\nexit %d in %.2f s; stderr:\n%s" % (" ".join(argv), p.returncode, dt, err.rstrip()))
    if "Sanitizer" in err or "runtime error:" in err:
        print("FAIL: sanitizer report")
        return 1
    if p.returncode < 0 or p.returncode >= 128:
        print("FAIL: killed by a signal / crashed (status %d)" % p.returncode)
        return 1
    if spec["good"]:
        if p.returncode != 0:
            print("FAIL: a valid model folder was rejected")
            return 1
        print("PASS (valid folder accepted)")
        return 0
    problems = []
    if p.returncode == 0:
        problems.append("exit status 0 for a corrupt folder")
    if len(lines) != 1:
        problems.append("expected exactly one line on stderr, got %d" % len(lines))
    text = " ".join(lines)
    if not any(f in text for f in spec["files"]):
        problems.append("the message names none of: " + ", ".join(spec["files"]))
    if not any(w.lower() in text.lower() for w in spec["words"]):
        problems.append("the message contains none of the problem words: " + ", ".join(spec["words"]))
    for pr in problems:
        print("FAIL: " + pr)
    if not problems:
        print("PASS")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
