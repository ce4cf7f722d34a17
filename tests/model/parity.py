#!/usr/bin/python3
"""parity.py — ctest driver for model parity: our `exaone` CLI vs tools/reference.py (HF semantics).

Owns the parity case matrix (variant x weight dtype x sharding, with the exaone4 config spellings
spread over the cases) and the comparison rules (docs/testing-models.md):
  setup --dir D             generate every case's model into D/<case>/ and run the reference once
                            for all of them in this one process (torch is imported once): D/<case>.ref.bin
                            (float32 LE [T][V] logits of PARITY_TOKENS), D/<case>.ref.greedy (ids),
                            and for bf16-weight cases D/<case>.ref-bf16.bin (HF bf16 compute mode).
  check --dir D --case C --cli EXE
                            runs `EXE logits -m D/C --tokens ... --out F` (all at once and with
                            --batch 7, i.e. chunked through the KV cache) and
                            `EXE generate -m D/C --tokens 1,2,3 -n 32 --temp 0` and compares:
                            logits max-abs <= 1e-4 at every position (all weight dtypes: both sides
                            compute in f32 from the same exactly-upcast weights), greedy ids identical.
                            These run with the exact cache (--kv-type f32).
                            kv-<type>_<variant> cases: the f32-weight model of the variant with the
                            KV cache in f16 / bf16 / q8_0, against the reference with its keys and
                            values rounded the same way (reference.kv_round): max-abs <= KV_TOL[type]
                            and the engine-vs-emulation error at most KV_RATIO of the rounding's own
                            effect (emulation vs exact reference, rms and max); greedy identical for f16.
  list                      prints the case names (used by CMake at configure time).
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, "..", "..", "tools")
sys.path.insert(0, TOOLS)

import numpy as np  # noqa: E402

LOGIT_TOL = 1e-4            # f32 compute on both sides
# Rounded KV caches: both sides round the same keys/values, but a value computed in a different f32
# summation order (~1e-7 relative) sometimes lands on the other side of a rounding boundary and then
# differs by one step (an f16 or bf16 ulp, or amax/127 of a q8_0 block). Those rare flips leave a
# residual of 0.1-15% of the rounding's whole effect on the logits (measured on the tiny models, see
# docs/kv-cache.md): bounds ~2-3x above the worst measured, absolute and relative to that effect.
KV_TOL = {"f16": 1e-3, "bf16": 1e-2, "q8_0": 1e-2}
KV_RATIO = 0.3
KV_TYPES = ("f16", "bf16", "q8_0")
BF16_REL_RMS_TOL = 0.05     # f32 engine vs HF-bf16-compute reference: rms(diff)/rms(ref)
GREEDY_PROMPT = [1, 2, 3]
GREEDY_N = 32
VOCAB = 512
# 80 positions (> 64, and 10x the hybrid's sliding window of 8); ids spread over the vocabulary.
PARITY_TOKENS = [(i * 7919 + 13) % VOCAB for i in range(80)]
PATTERN_ROPE = [("list", "scaling"), ("int", "parameters"), ("string", "scaling"),
                ("list", "parameters"), ("int", "scaling"), ("string", "parameters")]


def cases():
    """[(name, dict(variant, dtype, shards, pattern_form, rope_form))]"""
    out = []
    for variant in ("exaone3.0", "exaone3.5", "exaone4-1.2b", "exaone4-hybrid"):
        k = 0
        for dtype in ("f32", "bf16", "f16"):
            for shards in (1, 3):
                pf, rf = PATTERN_ROPE[k]
                k += 1
                name = "%s_%s_%s" % (variant, dtype, "single" if shards == 1 else "x%d" % shards)
                p = dict(variant=variant, dtype=dtype, shards=shards, pattern_form="list", rope_form="scaling")
                if variant.startswith("exaone4"):
                    p["rope_form"] = rf
                    name += "_rope-" + rf
                if variant == "exaone4-hybrid":
                    p["pattern_form"] = pf
                    name += "_pattern-" + pf
                out.append((name, p))
    for variant in ("exaone3.0", "exaone3.5", "exaone4-1.2b", "exaone4-hybrid"):
        base = next(n for n, p in out if p["variant"] == variant and p["dtype"] == "f32" and p["shards"] == 1)
        for kv in KV_TYPES:
            out.append(("kv-%s_%s" % (kv, variant), dict(variant=variant, kv=kv, base=base)))
    return out


def stamp_of():
    h = hashlib.sha256()
    for f in (os.path.join(TOOLS, "make_tiny_models.py"), os.path.join(TOOLS, "reference.py"), __file__):
        with open(f, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


def setup(d):
    import make_tiny_models as mtm
    import reference
    os.makedirs(d, exist_ok=True)
    stamp_path = os.path.join(d, "STAMP")
    st = stamp_of()
    if os.path.exists(stamp_path) and open(stamp_path).read().strip() == st:
        print("models in %s are up to date" % d)
        return 0
    if os.path.exists(stamp_path):
        os.remove(stamp_path)
    t0 = time.time()
    summary, done = {}, {}
    for name, p in cases():
        if "kv" in p:  # reuses the base case's folder (generated earlier in this loop)
            m = reference.Model(os.path.join(d, p["base"]))
            reference.write_logits(os.path.join(d, name + ".ref.bin"), m.forward(PARITY_TOKENS, kv=p["kv"]))
            margin = float("nan")
            if p["kv"] == "f16":
                ids = m.greedy(GREEDY_PROMPT, GREEDY_N, kv="f16")
                margin = min(m.last_margins)
                with open(os.path.join(d, name + ".ref.greedy"), "w") as f:
                    f.write(" ".join(map(str, ids)) + "\n")
            summary[name] = {"greedy_min_top2_margin": margin}
            print("%-58s KV cache %s emulated%s" % (name, p["kv"], "" if margin != margin else ", greedy min top1-top2 margin %.4f" % margin))
            continue
        out = os.path.join(d, name)
        mtm.make_model(out, **p)
        m = reference.Model(out)
        logits = m.forward(PARITY_TOKENS)
        reference.write_logits(os.path.join(d, name + ".ref.bin"), logits)
        # Cases differing only in sharding / config spelling hold the same weights: when this
        # folder's reference logits equal the earlier one's bit for bit, reuse its greedy run.
        key = (p["variant"], p["dtype"])
        if key in done and np.array_equal(done[key][0], logits.numpy()):
            ids, margin = done[key][1], done[key][2]
        else:
            ids = m.greedy(GREEDY_PROMPT, GREEDY_N)
            margin = min(m.last_margins)
            done[key] = (logits.numpy(), ids, margin)
        with open(os.path.join(d, name + ".ref.greedy"), "w") as f:
            f.write(" ".join(map(str, ids)) + "\n")
        if p["dtype"] == "bf16":
            reference.write_logits(os.path.join(d, name + ".ref-bf16.bin"), m.forward(PARITY_TOKENS, "bf16"))
        summary[name] = {"greedy_min_top2_margin": margin}
        warn = "  WARNING: near-tie, greedy comparison fragile" if margin < 1e-3 else ""
        print("%-58s greedy min top1-top2 margin %.4f%s" % (name, margin, warn))
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    with open(stamp_path, "w") as f:
        f.write(st + "\n")
    print("generated %d cases in %.1f s" % (len(summary), time.time() - t0))
    return 0


def run_cli(argv, timeout=120):
    t0 = time.time()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p, time.time() - t0


def sanitizer_report(text):
    return "AddressSanitizer" in text or "runtime error:" in text or "LeakSanitizer" in text


def kv_ratio_ok(case, got, emu, exact):
    """engine vs emulated rounding, as a fraction of the rounding's own effect (emulated vs exact)"""
    rms = lambda a: float(np.sqrt(np.mean(np.square(a))))
    effect = emu.astype(np.float64) - exact
    err = got.astype(np.float64) - emu
    r_rms, r_max = rms(err) / rms(effect), float(np.abs(err).max() / np.abs(effect).max())
    print("%s: vs the emulated cache, error / rounding effect: rms %.3f, max %.3f (bound %.2f; effect max-abs %.3g)"
          % (case, r_rms, r_max, KV_RATIO, float(np.abs(effect).max())))
    if r_rms <= KV_RATIO and r_max <= KV_RATIO:
        return True
    print("FAIL: the cache does not round like the emulation")
    return False


def check(d, case, cli):
    params = dict(cases()).get(case)
    if params is None:
        print("unknown case " + case)
        return 2
    kv = params.get("kv", "f32")
    tol = KV_TOL.get(kv, LOGIT_TOL)
    mdir = os.path.join(d, params.get("base", case))
    ok = True
    # ---- logits at every position
    out = os.path.join(d, case + ".cli.bin")
    if os.path.exists(out):
        os.remove(out)
    argv = [cli, "logits", "-m", mdir, "--kv-type", kv, "--tokens", ",".join(map(str, PARITY_TOKENS)), "--out", out]
    p, dt = run_cli(argv)
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != 0 or sanitizer_report(err):
        print("FAIL: %s exited %d\n%s" % (" ".join(argv), p.returncode, err))
        return 1
    ref = np.fromfile(os.path.join(d, case + ".ref.bin"), dtype="<f4")
    got = np.fromfile(out, dtype="<f4")
    T = len(PARITY_TOKENS)
    if got.size != ref.size:
        print("FAIL: logits file has %d floats, expected %d = %d tokens x %d vocab" % (got.size, ref.size, T, ref.size // T))
        return 1
    ref, got = ref.reshape(T, -1), got.reshape(T, -1)
    if not np.all(np.isfinite(got)):
        print("FAIL: non-finite logits")
        return 1
    diff = np.abs(got.astype(np.float64) - ref)
    pos, tok = np.unravel_index(int(np.argmax(diff)), diff.shape)
    maxerr = float(diff.max())
    print("%s: logits max-abs err %.3g (tol %.0e; KV cache %s; at position %d, token %d; |ref| max %.2f; %d x %d; %.2f s)"
          % (case, maxerr, tol, kv, pos, tok, float(np.abs(ref).max()), T, ref.shape[1], dt))
    if not maxerr <= tol:
        ok = False
        worst = diff.max(axis=1)
        print("FAIL: per-position max-abs err: " + " ".join("%.2g" % e for e in worst))
    if "base" in params:
        exact = np.fromfile(os.path.join(d, params["base"] + ".ref.bin"), dtype="<f4").reshape(T, -1).astype(np.float64)
        ok = kv_ratio_ok(case, got, ref, exact) and ok
    # ---- the same sequence fed in chunks of 7 through the KV cache (crosses the hybrid's 8-token
    #      sliding-window ring at every offset); same tolerance
    out7 = os.path.join(d, case + ".cli-batch7.bin")
    argv7 = argv[:-2] + ["--batch", "7", "--out", out7]
    p7, dt7 = run_cli(argv7)
    err7 = p7.stderr.decode("utf-8", "replace")
    if p7.returncode != 0 or sanitizer_report(err7):
        print("FAIL: %s exited %d\n%s" % (" ".join(argv7), p7.returncode, err7))
        return 1
    got7 = np.fromfile(out7, dtype="<f4")
    if got7.size != ref.size:
        print("FAIL: --batch 7 logits file has %d floats, expected %d" % (got7.size, ref.size))
        return 1
    err7v = float(np.abs(got7.reshape(T, -1).astype(np.float64) - ref).max())
    print("%s: logits with --batch 7 (KV cache, chunked) max-abs err %.3g (tol %.0e; %.2f s)" % (case, err7v, tol, dt7))
    if not err7v <= tol:
        ok = False
        print("FAIL: chunked evaluation differs from the reference")
    if "base" in params:
        ok = kv_ratio_ok(case + " --batch 7", got7.reshape(T, -1), ref, exact) and ok
    # ---- looser comparison with the HF-bf16-compute reference (bf16 weights only)
    bf = os.path.join(d, case + ".ref-bf16.bin")
    if os.path.exists(bf):
        rb = np.fromfile(bf, dtype="<f4").reshape(T, -1).astype(np.float64)
        rel = float(np.sqrt(np.mean((got - rb) ** 2)) / np.sqrt(np.mean(rb ** 2)))
        agree = float(np.mean(np.argmax(got, 1) == np.argmax(rb, 1)))
        print("%s: vs HF-bf16-compute reference: max-abs %.3g, relative rms %.3g (tol %.2g), argmax agreement %.0f%%"
              % (case, float(np.abs(got - rb).max()), rel, BF16_REL_RMS_TOL, 100 * agree))
        if not rel <= BF16_REL_RMS_TOL:
            ok = False
            print("FAIL: too far from the bf16-compute reference")
    # ---- greedy decoding (the rounded caches: f16 only)
    if not os.path.exists(os.path.join(d, case + ".ref.greedy")):
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    argv = [cli, "generate", "-m", mdir, "--kv-type", kv, "--tokens", ",".join(map(str, GREEDY_PROMPT)), "-n", str(GREEDY_N), "--temp", "0"]
    p, dt = run_cli(argv)
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != 0 or sanitizer_report(err):
        print("FAIL: %s exited %d\n%s" % (" ".join(argv), p.returncode, err))
        return 1
    try:
        ids = [int(t) for t in p.stdout.decode("ascii").split()]
    except ValueError:
        print("FAIL: generate must print only space-separated ids, got %r" % p.stdout[:200])
        return 1
    want = [int(t) for t in open(os.path.join(d, case + ".ref.greedy")).read().split()]
    eos = 361
    # HF generate stops after EOS (included); accept an engine that stops without printing it.
    same = ids == want or (want and want[-1] == eos and ids == want[:-1])
    first = next((i for i, (a, b) in enumerate(zip(ids, want)) if a != b), min(len(ids), len(want)))
    print("%s: greedy %d tokens %s (%.2f s)%s" % (case, len(want), "identical" if same else "DIFFER at step %d" % first, dt,
                                                  "" if same else "\n  ref: %s\n  cli: %s" % (want, ids)))
    ok = ok and same
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=["setup", "check", "list"])
    ap.add_argument("--dir")
    ap.add_argument("--case")
    ap.add_argument("--cli")
    a = ap.parse_args()
    if a.cmd == "list":
        print(";".join(n for n, _ in cases()))
        return 0
    if a.cmd == "setup":
        return setup(a.dir)
    return check(a.dir, a.case, a.cli)


if __name__ == "__main__":
    sys.exit(main())
