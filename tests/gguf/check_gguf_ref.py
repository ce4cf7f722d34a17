#!/usr/bin/python3
"""check_gguf_ref.py — checks the GGUF files `exaone quantize` writes against an independent
reader/dequantizer that follows llama.cpp/ggml (tools/gguf_ref.py) instead of our own C reader.

For each tiny model of tools/make_tiny_models.py (f32 HF folders made by the gguf_models fixture)
and each --type (q8_0 q4_0 q4_K q5_K q6_K q4_K_M bf16 f16):
  1. `exaone quantize SRC OUT.gguf --type T`;
  2. gguf_ref parses it (strict: layout, alignment, offsets); the metadata llama.cpp's loader reads
     for exaone/exaone4 is present with llama.cpp's value types (u32 sizes, f32 eps/θ, bool array
     sliding_window_pattern) and the source config's values; general.file_type is llama.cpp's
     LLAMA_FTYPE; no arrays of arrays (ggml's gguf.cpp rejects them);
  3. tensor names / dims (ggml order = HF shape reversed) / types: the type llama-quantize would pick
     (src/llama-quant.cpp: --pure for the single types, the q4_K_M mix with use_more_bits for
     attn_v / ffn_down and Q6_K for the (tied) output, the row-length fallbacks) — except that
     where llama.cpp falls back to Q5_0 / Q5_1 (not implemented here) Q8_0 is accepted (counted);
  4. every tensor dequantized and compared with the source f32 weights: F32 equal, F16/BF16 equal to
     round-to-nearest-even, Q8_0 / Q4_0 / Q4_K / Q5_K / Q6_K blocks byte-identical to ggml's
     quantize_row_*_ref (what llama-quantize writes without an imatrix; ported in gguf_ref.py),
     k-quant codes also equal to the reference's final step given the stored scales (a separate,
     simpler check that pinpoints scale-vs-code errors), element errors within the format's bound;
  5. GGUF -> HF folder (gguf_ref.to_hf, rope_scaling checked against the source config) run by the
     independent torch reference (tools/reference.py) vs `exaone logits` on the .gguf, KV cache f32:
       - `--quant f32` (the engine dequantizes with its C code, f32 matmuls) vs reference: f32
         summation order only;
       - native quantized matmuls vs the reference with ggml's activation quantization emulated
         (Q8_0 activations for Q8_0/Q4_0, Q8_K for k-quants; gguf_ref.act_roundtrip): again only
         summation order, since ggml's integer block dots equal dequantized products.
     The f32 path must agree to TOL_REL * max|logit| at every position. The native path must agree
     to the same tolerance at position 0 and up to its first "flip": an activation within an ulp of
     a rounding boundary of the Q8_0/Q8_K code grid can round differently on the two sides (their
     f32 summation orders differ), after which the causal sequence legitimately diverges by about
     one activation step; layout / scale / semantic errors show at every position, position 0
     included. The first diverging position must hold an activation within FLIP_MARGIN (relative)
     of a rounding boundary in the reference's emulation. Flips are counted and printed.
  6. malformed variants of one file (bad magic / version, truncations, misplaced or unknown-type
     tensor, absurd counts) are refused by gguf_ref with GGUFError;
  7. negative check: the q4_K exaone4 GGUF with the top two bits of every Q4_K block's scales[0] of
     one matrix flipped (= sub-block 4's 6-bit scale, get_scale_min_k4's j >= 4 path) must change
     only elements 128..159 of each block in the reference dequantization, and change the logits of
     both implementations identically (agree to TOL_REL, native at position 0, while moving by more
     than 100x that).

usage: check_gguf_ref.py --exaone BIN --models DIR --work DIR [--variants ...] [--types ...]
Prints one line per case with the measured maxima; exits 1 on any failure.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import gguf_ref as G  # noqa: E402
import reference as R  # noqa: E402

TOL_REL = 3e-5        # logits: |engine - reference| <= TOL_REL * max|reference logit|
FLIP_MARGIN = 2e-6    # a flip needs an activation this close (relative) to a code-rounding boundary
TOKENS = [1, 5, 77, 300, 12, 9, 400, 3, 511, 0, 200, 42]   # > the hybrid's window of 8
FTYPE_ID = {"f32": 0, "f16": 1, "q4_0": 2, "q8_0": 7, "q4_K": 14, "q4_K_M": 15, "q5_K": 16,
            "q6_K": 18, "bf16": 32}    # llama.h LLAMA_FTYPE_* (q4_K/q5_K pure = *_K_S ids)
U32, F32T, STR = G.T_UINT32, G.T_FLOAT32, G.T_STRING

failures = []
all_margins = []   # per-position boundary margins of every native emulation (for the summary)


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.decode()[-400:]))
    return p.stdout.decode()


def engine_logits(exe, gguf, out, extra=()):
    run([exe, "logits", "-m", gguf, "--tokens", ",".join(map(str, TOKENS)), "--out", out,
         "--kv-type", "f32"] + list(extra))
    return np.fromfile(out, dtype="<f4").reshape(len(TOKENS), -1)


# ---- reference forward, optionally with ggml's activation quantization ----------------------
def boundary_margin(x, t):
    """Per row of x (T, n): the smallest distance, relative to |v|, of a scaled activation v (the
    value the Q8_0 / Q8_K quantizer rounds) from a rounding boundary k + 1/2."""
    blk = 32 if t in ("Q8_0", "Q4_0") else 256
    r = x.reshape(x.shape[0], -1, blk).astype(np.float64)
    amax = np.abs(r).max(axis=2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.abs(np.where(amax > 0, r * (127.0 / np.where(amax > 0, amax, 1)), 0))
        m = np.abs(v - np.floor(v) - 0.5) / np.maximum(v, 1.0)
    return m.reshape(x.shape[0], -1).min(axis=1)


def ref_logits(hf_dir, g=None, margins=None):
    """tools/reference.py forward (f32). With g (the GGUF), every linear's input rows are first
    round-tripped through the activation quantization ggml pairs with that weight's type; margins
    (a list) then receives the per-position minimum of boundary_margin over all linears."""
    import torch
    m = R.Model(hf_dir)
    if g is None:
        return m.forward(TOKENS).numpy()
    mins = np.full(len(TOKENS), np.inf)
    arch = g.get("general.architecture")
    types = {}
    for ti in g.tensors:
        hn = G.hf_name(arch, ti.name)
        if hn is not None:
            types[id(m.w[hn])] = ti.type_name
    orig = torch.nn.functional.linear

    def lin(x, w, b=None):
        t = types.get(id(w))
        if t is not None:
            xn = x.detach().numpy()
            if t in ("Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K") and xn.ndim == 2:
                np.minimum(mins, boundary_margin(xn, t), out=mins)
            x = torch.from_numpy(G.act_roundtrip(xn, t))
        return orig(x, w, b)

    torch.nn.functional.linear = lin
    try:
        out = m.forward(TOKENS).numpy()
    finally:
        torch.nn.functional.linear = orig
    if margins is not None:
        margins.extend(mins.tolist())
    return out


# ---- metadata -----------------------------------------------------------------------------------
def check_metadata(tag, g, src_cfg, ttype):
    rc = R.resolve_config(src_cfg)
    arch = src_cfg["model_type"]
    want = {"general.architecture": (STR, arch),
            arch + ".context_length": (U32, src_cfg["max_position_embeddings"]),
            arch + ".embedding_length": (U32, rc["D"]), arch + ".block_count": (U32, rc["L"]),
            arch + ".feed_forward_length": (U32, rc["F"]), arch + ".attention.head_count": (U32, rc["H"]),
            arch + ".attention.head_count_kv": (U32, rc["Hkv"]),
            arch + ".attention.layer_norm_rms_epsilon": (F32T, np.float32(rc["eps"])),
            arch + ".rope.freq_base": (F32T, np.float32(rc["theta"])),
            "general.file_type": (U32, FTYPE_ID[ttype])}
    optional = {arch + ".rope.dimension_count": (U32, rc["d"]), arch + ".attention.key_length": (U32, rc["d"]),
                arch + ".attention.value_length": (U32, rc["d"]), arch + ".vocab_size": (U32, rc["V"]),
                "general.alignment": (U32, None), "general.quantization_version": (U32, None)}
    if arch == "exaone4":
        slide = [t == "sliding_attention" for t in rc["layer_types"]]
        if any(slide):
            want["exaone4.attention.sliding_window"] = (U32, rc["window"])
            want["exaone4.attention.sliding_window_pattern"] = (G.T_ARRAY, slide)
        else:
            optional["exaone4.attention.sliding_window_pattern"] = (G.T_ARRAY, slide)
    for k, (vt, val) in list(want.items()) + list(optional.items()):
        if k not in g.kv:
            if k in want:
                fail("%s: missing metadata %s" % (tag, k))
            continue
        gt, gv = g.kv[k]
        if gt != vt:
            fail("%s: %s has type %s, llama.cpp reads %s" % (tag, k, G.describe_type(g.kv[k]), G.VT_NAMES[vt]))
            continue
        if vt == G.T_ARRAY:
            if gv[0] != G.T_BOOL or [bool(b) for b in gv[1]] != val:
                fail("%s: %s = %s, want bool array %s" % (tag, k, G.describe_type(g.kv[k]), val))
        elif val is not None and gv != val:
            fail("%s: %s = %r, want %r" % (tag, k, gv, val))
    if g.nested_arrays:
        fail("%s: arrays of arrays (ggml's gguf.cpp rejects them): %s" % (tag, g.nested_arrays))
    if g.data_offset % g.alignment:
        fail("%s: data section at %d not aligned to %d" % (tag, g.data_offset, g.alignment))


# ---- tensors ------------------------------------------------------------------------------------
def expected_tensors(src_cfg, src):
    """[(gguf name, ggml dims, source array)] in our writer's order is not assumed: the set is."""
    arch = src_cfg["model_type"]
    inv = {}
    rc = R.resolve_config(src_cfg)
    names = ["token_embd.weight", "output_norm.weight", "output.weight"]
    per = (["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"]
           if arch == "exaone" else
           ["attn_q", "attn_k", "attn_v", "attn_output", "attn_q_norm", "attn_k_norm", "post_attention_norm",
            "ffn_gate", "ffn_up", "ffn_down", "post_ffw_norm"])
    names += ["blk.%d.%s.weight" % (l, p) for l in range(rc["L"]) for p in per]
    for n in names:
        hn = G.hf_name(arch, n)
        if hn in src:
            inv[n] = src[hn]
    return inv


def check_tensor(tag, g, name, x):
    """Dequantization / encoding checks for one tensor vs its f32 source x. Returns (max |err|,
    max |err| / block scale or None, k-quant code mismatches)."""
    ti = g.by_name[name]
    y = g.dequantize(name)
    err = np.abs(y.astype(np.float64) - x.astype(np.float64))
    t = ti.type_name
    flat = x.reshape(-1)
    ratio, mism = None, 0
    if t == "F32":
        if not np.array_equal(y, x):
            fail("%s: %s F32 differs from the source" % (tag, name))
    elif t == "F16":
        if not np.array_equal(g.raw(name).view("<u2"), G.f32_to_f16_bits(flat)):
            fail("%s: %s F16 bits are not round-to-nearest-even of the source" % (tag, name))
    elif t == "BF16":
        if not np.array_equal(g.raw(name).view("<u2"), G.f32_to_bf16_bits(flat)):
            fail("%s: %s BF16 bits are not round-to-nearest-even of the source" % (tag, name))
    if t in ("Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"):
        b = g.blocks(name)
        ref = G.quantize_ref(flat, t)
        if not np.array_equal(b, ref):
            bad = np.nonzero(np.any(b != ref, axis=1))[0]
            i = int(bad[0])
            fail("%s: %s %d of %d %s blocks differ from ggml's quantize_row_%s_ref; block %d: ours %s ref %s"
                 % (tag, name, len(bad), b.shape[0], t, t.lower(), i, bytes(b[i]).hex(), bytes(ref[i]).hex()))
    if t in ("Q8_0", "Q4_0"):
        d = np.abs(G.f16_to_f32(b[:, 0:2].copy().view("<u2"))).astype(np.float64)   # (nb, 1)
        e = err.reshape(-1, 32)
        # Q8_0: round to nearest of x/d (d = amax/127 before fp16 rounding: +127 * 2^-11 d);
        # Q4_0: the side opposite the max clamps +8 to +7, so up to one step.
        bound = d * (0.5 + 127 * 2.0 ** -11) if t == "Q8_0" else d * (1.0 + 8 * 2.0 ** -11)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(d > 0, e / np.where(d > 0, d, 1), 0)
        ratio = float(r.max())
        if np.any(e > bound + 1e-12):
            fail("%s: %s %s error %.3g x d exceeds the format's bound" % (tag, name, t, ratio))
    elif t in ("Q4_K", "Q5_K", "Q6_K"):
        exp, got, mask = G.requantize_codes(g.blocks(name), flat, t)
        mism = int(np.count_nonzero((exp != got) & mask))
        if mism:
            i = np.argwhere((exp != got) & mask)[0]
            fail("%s: %s %d %s codes differ from the reference quantizer's given the stored scales "
                 "(first: block %d elem %d ours %d ref %d)" % (tag, name, mism, t, i[0], i[1], got[tuple(i)], exp[tuple(i)]))
        rel = float(np.sqrt(np.mean(err ** 2)) / np.sqrt(np.mean(x.astype(np.float64) ** 2)))
        lim = {"Q4_K": 0.12, "Q5_K": 0.06, "Q6_K": 0.03}[t]
        ratio = rel
        if rel > lim:
            fail("%s: %s %s relative RMS error %.4f > %.2f" % (tag, name, t, rel, lim))
    elif t not in ("F32", "F16", "BF16"):
        fail("%s: %s has type %s, not one our quantizer should write" % (tag, name, t))
    return float(err.max()), ratio, mism


def check_model(args, variant, ttype, stats):
    tag = "%s/%s" % (variant, ttype)
    src_dir = os.path.join(args.models, variant)
    with open(os.path.join(src_dir, "config.json"), encoding="utf-8") as f:
        src_cfg = json.load(f)
    src = {n: a for n, (a, _) in R.load_tensors(src_dir).items()}
    work = os.path.join(args.work, "%s.%s" % (variant, ttype))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    gguf = os.path.join(work, "model.gguf")
    run([args.exaone, "quantize", src_dir, gguf, "--type", ttype])
    g = G.GGUFFile(gguf)
    check_metadata(tag, g, src_cfg, ttype)

    exp = expected_tensors(src_cfg, src)
    rc = R.resolve_config(src_cfg)
    want_names = set(exp)
    if rc["rope_scaling"] is not None:
        want_names.add("rope_freqs.weight")
    got_names = set(g.by_name)
    if got_names != want_names:
        fail("%s: tensor set differs: missing %s, unexpected %s"
             % (tag, sorted(want_names - got_names), sorted(got_names - want_names)))
    infos = [(ti.name, ti.dims, "F32") for ti in g.tensors]
    pure = ttype != "q4_K_M"
    want_types = G.llama_tensor_types(infos, ttype, pure)
    q8_for_q5 = 0
    for ti in g.tensors:
        if ti.name in exp and list(ti.dims) != list(reversed(exp[ti.name].shape)):
            fail("%s: %s dims %s, source shape %s reversed is %s"
                 % (tag, ti.name, ti.dims, exp[ti.name].shape, list(reversed(exp[ti.name].shape))))
        w = want_types.get(ti.name)
        if w in ("Q5_0", "Q5_1") and ti.type_name == "Q8_0":
            q8_for_q5 += 1      # documented deviation: no Q5_0/Q5_1 writer, Q8_0 instead
        elif ti.type_name != w:
            fail("%s: %s is %s, llama.cpp would write %s" % (tag, ti.name, ti.type_name, w))
    if "rope_freqs.weight" in g.by_name:
        ti = g.by_name["rope_freqs.weight"]
        if ti.type_name != "F32" or ti.dims != [rc["d"] // 2]:
            fail("%s: rope_freqs.weight is %s %s" % (tag, ti.type_name, ti.dims))

    max_err, max_ratio, mism = 0.0, {}, 0
    for name, x in exp.items():
        if name not in g.by_name:
            continue
        e, r, mm = check_tensor(tag, g, name, x)
        max_err = max(max_err, e)
        t = g.by_name[name].type_name
        if r is not None:
            max_ratio[t] = max(max_ratio.get(t, 0.0), r)
        mism += mm

    hf = os.path.join(work, "hf")
    cfg = G.to_hf(g, hf, source_config=src_cfg)
    blind = G.hf_config(g)     # without the source: llama3 with the family defaults, factor = max
    if blind != cfg:
        fail("%s: config from the GGUF alone differs from the one checked against the source: %s vs %s"
             % (tag, blind, cfg))
    if R.resolve_config(cfg)["layer_types"] != rc["layer_types"] or R.resolve_config(cfg)["use_rope"] != rc["use_rope"]:
        fail("%s: converted config's layer types / RoPE layers differ from the source's" % tag)
    ref_deq = ref_logits(hf)
    margins = []
    ref_nat = ref_logits(hf, g, margins)
    all_margins.extend(margins)
    eng32 = engine_logits(args.exaone, gguf, os.path.join(work, "eng_f32.bin"), ["--quant", "f32"])
    eng = engine_logits(args.exaone, gguf, os.path.join(work, "eng.bin"))
    scale = float(np.abs(ref_deq).max())
    tol = TOL_REL * max(1.0, scale)
    d32 = float(np.abs(eng32 - ref_deq).max())
    dnat = float(np.abs(eng - ref_nat).max())
    ref_src = ref_logits(src_dir)
    dq = float(np.abs(ref_deq - ref_src).max())
    if d32 > tol:
        fail("%s: `exaone logits --quant f32` vs reference on gguf_ref's dequantization: max |diff| %.3g > %.3g"
             % (tag, d32, tol))
    # Native path: the activation codes are a step function of f32 values that the two sides
    # compute in different orders, so a value within an ulp of a rounding boundary can round
    # differently (a "flip"); everything after it in the causal sequence then differs by the size
    # of one activation step. Position 0 must agree; the first diverging position is reported.
    per_pos = np.abs(eng - ref_nat).max(axis=1)
    bad = np.nonzero(per_pos > tol)[0]
    first = int(bad[0]) if len(bad) else None
    if first == 0:
        fail("%s: native `exaone logits` vs reference with ggml activation quantization differ at position 0: "
             "max |diff| %.3g > %.3g" % (tag, per_pos[0], tol))
    if first not in (None, 0) and margins[first] > FLIP_MARGIN:
        fail("%s: native `exaone logits` diverges from position %d (%.3g) but no activation there is within "
             "%.0e (relative) of a rounding boundary: not explained by a flip" % (tag, first, per_pos[first], FLIP_MARGIN))
    dnat_clean = float(per_pos[:first].max()) if first else float(per_pos.max())
    types = sorted(set(ti.type_name for ti in g.tensors))
    print("%-22s types %-22s deq-err max %.3g %s codes-mismatch %d q8-for-q5 %d | logits max %.2f: "
          "f32-path %.2g native %.2g%s (tol %.2g; quantization moved them %.3g)"
          % (tag, ",".join(types), max_err,
             " ".join("%s %.3g" % (k, v) for k, v in sorted(max_ratio.items())), mism, q8_for_q5,
             scale, d32, dnat_clean, "" if first is None else " up to position %d, then a flip: %.2g" % (first - 1, dnat),
             tol, dq), flush=True)
    stats.append((tag, d32, dnat_clean, tol, first))
    return g, gguf, work, src_cfg


def negative_check(args, g, gguf, work, src_cfg):
    """Flip the top two bits of scales[0] in every block of one Q4_K matrix (sub-block 4's scale)."""
    tag = "negative"
    cand = [ti for ti in g.tensors if ti.type_name == "Q4_K" and ti.name.startswith("blk.0.ffn_up")]
    if not cand:
        fail("negative: no Q4_K blk.0.ffn_up.weight in %s" % gguf)
        return
    ti = cand[0]
    buf = bytearray(g.buf)
    nb = ti.nbytes // ti.type_size
    for i in range(nb):
        buf[ti.abs_offset + i * ti.type_size + 4] ^= 0xC0   # block: d(2) dmin(2) scales[12] qs[128]
    bad = os.path.join(work, "corrupt.gguf")
    with open(bad, "wb") as f:
        f.write(buf)
    gb = G.GGUFFile(bad)
    y0 = g.dequantize(ti.name).reshape(-1, 256)
    y1 = gb.dequantize(ti.name).reshape(-1, 256)
    changed = np.any(y0 != y1, axis=0)
    if not changed[128:160].any() or changed[:128].any() or changed[160:].any():
        fail("negative: flipping scales[0] bits 6-7 changed elements %s of the blocks, want only 128..159"
             % np.nonzero(changed)[0][:10].tolist())
    hf = os.path.join(work, "hf_corrupt")
    G.to_hf(gb, hf, source_config=src_cfg)
    ref_ok = ref_logits(os.path.join(work, "hf"), g)
    ref_bad = ref_logits(hf, gb)
    eng_bad = engine_logits(args.exaone, bad, os.path.join(work, "eng_corrupt.bin"))
    eng_bad32 = engine_logits(args.exaone, bad, os.path.join(work, "eng_corrupt32.bin"), ["--quant", "f32"])
    ref_bad32 = ref_logits(hf)
    tol = TOL_REL * max(1.0, float(np.abs(ref_bad).max()))
    moved = float(np.abs(ref_bad - ref_ok).max())
    dn = float(np.abs(eng_bad - ref_bad)[0].max())     # native: position 0 (see check_model)
    d32 = float(np.abs(eng_bad32 - ref_bad32).max())
    print("%-22s %s: corrupted scales moved the logits by %.3g; engine vs reference: f32-path %.2g, native "
          "(position 0) %.2g (tol %.2g)" % (tag, ti.name, moved, d32, dn, tol), flush=True)
    if moved <= 100 * tol:
        fail("negative: corrupting the scales moved the reference logits only %.3g" % moved)
    if dn > tol or d32 > tol:
        fail("negative: engine and reference disagree on the corrupted file (%.3g / %.3g > %.3g)" % (d32, dn, tol))


def reader_rejects(gguf, work):
    """gguf_ref must refuse malformed variants of a valid file with GGUFError (never another
    exception): bad magic, version 1, truncated header, truncated data, misplaced / unknown-type
    tensor, absurd counts, a kv count one too high."""
    g = G.GGUFFile(gguf)
    buf = g.buf
    last = g.tensors[-1]
    cases = {"magic": b"GGUX" + buf[4:], "version 1": buf[:4] + (1).to_bytes(4, "little") + buf[8:],
             "truncated header": buf[:g.header_end - 3],
             "truncated data": buf[:last.abs_offset + last.nbytes - 1],
             "offset +32": buf[:g.header_end - 8] + (last.offset + 32).to_bytes(8, "little") + buf[g.header_end:],
             "type 99": buf[:g.header_end - 12] + (99).to_bytes(4, "little") + buf[g.header_end - 8:],
             "tensor count 2^40": buf[:8] + (1 << 40).to_bytes(8, "little") + buf[16:],
             "kv count +1": buf[:16] + (len(g.kv) + 1).to_bytes(8, "little") + buf[24:]}
    for what, data in cases.items():
        path = os.path.join(work, "bad.gguf")
        with open(path, "wb") as f:
            f.write(data)
        try:
            G.GGUFFile(path)
            fail("reader: malformed file (%s) accepted" % what)
        except G.GGUFError:
            pass
        except Exception as e:   # noqa: BLE001 - any other exception is the failure being tested
            fail("reader: malformed file (%s) raised %s: %s instead of GGUFError" % (what, type(e).__name__, e))
    print("%-22s %d malformed variants refused with GGUFError" % ("reader", len(cases)), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exaone", required=True)
    ap.add_argument("--models", required=True, help="folder with the tiny f32 HF models (gguf_models fixture)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--variants", nargs="+", default=["exaone4-1.2b", "exaone3.5", "exaone4-hybrid", "exaone3.0"])
    ap.add_argument("--types", nargs="+", default=["q8_0", "q4_0", "q4_K", "q5_K", "q6_K", "q4_K_M", "bf16", "f16"])
    a = ap.parse_args(argv)
    t0 = time.time()
    os.makedirs(a.work, exist_ok=True)
    stats, neg = [], None
    for v in a.variants:
        for t in a.types:
            try:
                r = check_model(a, v, t, stats)
                if v == "exaone4-1.2b" and t == "q4_K":
                    neg = r
            except (G.GGUFError, R.ModelError, RuntimeError, OSError) as e:
                fail("%s/%s: %s" % (v, t, e))
    if neg is not None:
        try:
            reader_rejects(neg[1], neg[2])
            negative_check(a, *neg)
        except (G.GGUFError, R.ModelError, RuntimeError, OSError) as e:
            fail("negative: %s" % e)
    if stats:
        flips = [s for s in stats if s[4] is not None]
        print("max |engine - reference| over %d cases: f32-path %.3g, native %.3g before any activation-rounding "
              "flip (tolerance %.0e x max|logit|); %d cases flipped (first diverging positions %s; %.0f%% of "
              "all positions have an activation within %.0e of a boundary); %.1f s"
              % (len(stats), max(s[1] for s in stats), max(s[2] for s in stats), TOL_REL, len(flips),
                 [s[4] for s in flips], 100.0 * np.mean(np.array(all_margins) <= FLIP_MARGIN), FLIP_MARGIN,
                 time.time() - t0))
    n_fail = len(failures)
    print("%d passed, %d failed" % (0 if n_fail else 1, 1 if n_fail else 0))
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
