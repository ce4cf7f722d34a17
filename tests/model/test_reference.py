#!/usr/bin/python3
"""test_reference.py — checks of the Python reference itself (tools/reference.py) and the tiny-model
generator (tools/make_tiny_models.py), so that parity failures point at the engine, not the oracle.

Owns: a second, naive float64 numpy implementation of both EXAONE families written straight from
spec §2–§4 (explicit loops over positions and heads, its own config reading and llama3 table), and
self-consistency checks: sliding window changes logits only for positions >= W, NoPE globals differ
from RoPE globals, tied == untied with lm_head = embedding, every exaone4 config spelling (layer
pattern list/int/string, rope_scaling vs rope_parameters) and sharding gives bit-identical logits,
causality, llama3 frequency regimes as counted in spec §2.3, safetensors round trips and layout
rejection, bf16-compute mode close to f32 and bf16-valued, greedy = argmax of the forward pass.

usage: test_reference.py --dir SCRATCH_DIR   (exit 0 when every check passes)
"""
import argparse
import json
import math
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))

import numpy as np  # noqa: E402
import make_tiny_models as mtm  # noqa: E402
import make_bad_inputs as mbi  # noqa: E402
import reference  # noqa: E402

FAILS = []
TOKENS = [(i * 7919 + 13) % 512 for i in range(40)]


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        FAILS.append(msg)


# ---- naive numpy float64 implementation (independent of reference.py) --------------------------
def naive_logits(model_dir, tokens):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    w = {n: a.astype(np.float64) for n, (a, _) in reference.read_safetensors(os.path.join(model_dir, "model.safetensors")).items()}
    exa4 = cfg["model_type"] == "exaone4"
    D, H, Hkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    L = cfg["num_hidden_layers"] if exa4 else cfg["num_layers"]
    d = cfg["head_dim"] if exa4 else D // H
    eps = cfg["rms_norm_eps"] if exa4 else cfg["layer_norm_epsilon"]
    if "rope_parameters" in cfg:
        theta, sc = cfg["rope_parameters"]["rope_theta"], cfg["rope_parameters"]
    else:
        theta, sc = cfg["rope_theta"], cfg["rope_scaling"]
    inv = [theta ** (-2.0 * i / d) for i in range(d // 2)]
    if sc is not None and sc.get("rope_type") == "llama3":
        f, lo, hi, Lo = sc["factor"], sc["low_freq_factor"], sc["high_freq_factor"], sc["original_max_position_embeddings"]
        for i, x in enumerate(inv):
            wl = 2 * math.pi / x
            if wl < Lo / hi:
                continue
            if wl > Lo / lo:
                inv[i] = x / f
            else:
                s = (Lo / wl - lo) / (hi - lo)
                inv[i] = (1 - s) * x / f + s * x
    W = cfg.get("sliding_window") if exa4 else None
    if exa4:
        lt = cfg.get("layer_types")
        pat = cfg.get("sliding_window_pattern")
        if lt is None:
            if isinstance(pat, int):
                lt = ["sliding_attention" if (i + 1) % pat else "full_attention" for i in range(L)]
            else:
                lt = ["sliding_attention" if pat[i % len(pat)] == "L" else "full_attention" for i in range(L)]
    else:
        lt = ["full_attention"] * L

    def rms(x, g):
        return g * (x / np.sqrt(np.mean(x * x) + eps))

    def rope(x, p):
        y = np.empty_like(x)
        for i in range(d // 2):
            c, s = math.cos(p * inv[i]), math.sin(p * inv[i])
            y[i] = x[i] * c - x[i + d // 2] * s
            y[i + d // 2] = x[i + d // 2] * c + x[i] * s
        return y

    def silu(z):
        return z / (1 + np.exp(-z))

    T = len(tokens)
    pre = "model." if exa4 else "transformer."
    emb = w[pre + ("embed_tokens.weight" if exa4 else "wte.weight")]
    h = [emb[t].copy() for t in tokens]
    for l in range(L):
        if exa4:
            p = "model.layers.%d." % l
            qw, kw, vw, ow = (w[p + "self_attn.%s_proj.weight" % n] for n in "qkvo")
            xs = h
        else:
            p = "transformer.h.%d." % l
            qw, kw, vw, ow = (w[p + "attn.attention.%s.weight" % n] for n in ("q_proj", "k_proj", "v_proj", "out_proj"))
            xs = [rms(x, w[p + "ln_1.weight"]) for x in h]
        use_rope = (not exa4) or W is None or lt[l] == "sliding_attention"
        Q, K, V = [], [], []
        for t in range(T):
            q = (qw @ xs[t]).reshape(H, d)
            k = (kw @ xs[t]).reshape(Hkv, d)
            v = (vw @ xs[t]).reshape(Hkv, d)
            if exa4:
                q = np.stack([rms(q[j], w[p + "self_attn.q_norm.weight"]) for j in range(H)])
                k = np.stack([rms(k[j], w[p + "self_attn.k_norm.weight"]) for j in range(Hkv)])
            if use_rope:
                q = np.stack([rope(q[j], t) for j in range(H)])
                k = np.stack([rope(k[j], t) for j in range(Hkv)])
            Q.append(q), K.append(k), V.append(v)
        new_h = []
        for t in range(T):
            o = np.zeros(H * d)
            for j in range(H):
                kvh = j // (H // Hkv)
                keys = [u for u in range(t + 1) if lt[l] != "sliding_attention" or t - u < W]
                sc_ = np.array([Q[t][j] @ K[u][kvh] / math.sqrt(d) for u in keys])
                pr = np.exp(sc_ - sc_.max())
                pr /= pr.sum()
                o[j * d:(j + 1) * d] = sum(pr[i] * V[u][kvh] for i, u in enumerate(keys))
            a = ow @ o
            if exa4:
                x = h[t] + rms(a, w[p + "post_attention_layernorm.weight"])
                u_ = w[p + "mlp.down_proj.weight"] @ (silu(w[p + "mlp.gate_proj.weight"] @ x) * (w[p + "mlp.up_proj.weight"] @ x))
                x = x + rms(u_, w[p + "post_feedforward_layernorm.weight"])
            else:
                x = h[t] + a
                m = rms(x, w[p + "ln_2.weight"])
                x = x + w[p + "mlp.c_proj.weight"] @ (silu(w[p + "mlp.c_fc_0.weight"] @ m) * (w[p + "mlp.c_fc_1.weight"] @ m))
            new_h.append(x)
        h = new_h
    fn = w["model.norm.weight" if exa4 else "transformer.ln_f.weight"]
    tie = cfg.get("tie_word_embeddings", not exa4)
    lm = emb if tie else w["lm_head.weight"]
    return np.stack([lm @ rms(x, fn) for x in h])


def logits(d, toks=TOKENS, compute="f32"):
    return reference.Model(d).forward(toks, compute).numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True)
    a = ap.parse_args()
    t0 = time.time()
    root = a.dir
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    P = lambda *n: os.path.join(root, *n)

    # 1. naive numpy float64 vs reference (f32 and bf16 weights)
    for v in mtm.VARIANTS:
        for dt in ("f32", "bf16"):
            mtm.make_model(P(v + dt), v, dt)
            ref = logits(P(v + dt))
            nv = naive_logits(P(v + dt), TOKENS)
            err = float(np.abs(ref - nv).max())
            check(err < 1e-4, "%s %s: reference vs naive float64 numpy max-abs %.2e (tol 1e-4)" % (v, dt, err))

    # 2. sliding window matters exactly from position W on; 3. NoPE globals matter
    hy = P("exaone4-hybridf32")
    m = reference.Model(hy)
    W = m.cfg["window"]
    base = m.forward(TOKENS).numpy()
    m.cfg["window"] = 10 ** 9
    full = m.forward(TOKENS).numpy()
    check(np.array_equal(base[:W], full[:W]) and np.abs(base[W:] - full[W:]).max() > 1e-2,
          "hybrid: sliding window W=%d leaves positions < W unchanged, changes later ones (max %.3f)"
          % (W, float(np.abs(base[W:] - full[W:]).max())))
    m.cfg["window"] = W
    check(m.cfg["use_rope"] == [True, True, True, False] * 2, "hybrid: RoPE on locals only, globals 3 and 7 NoPE")
    m.cfg["use_rope"] = [True] * m.cfg["L"]
    rope_all = m.forward(TOKENS).numpy()
    check(np.abs(rope_all[0] - base[0]).max() < 1e-6 and np.abs(rope_all[1:] - base[1:]).max() > 1e-2,
          "hybrid: RoPE on globals changes logits after position 0 (max %.3f)" % float(np.abs(rope_all - base).max()))
    m12 = reference.Model(P("exaone4-1.2bf32"))
    check(all(m12.cfg["use_rope"]) and m12.cfg["window"] is None, "exaone4-1.2b: sliding_window null -> RoPE on every layer")

    # 4. tied == untied with lm_head = embedding
    for v, emb in (("exaone3.5", "transformer.wte.weight"), ("exaone4-1.2b", "model.embed_tokens.weight")):
        w = mtm.make_weights(v, mtm.DEFAULT_SEED[v])
        cfg = mtm.build_config(v)
        check("lm_head.weight" not in dict(w) and ("tie_word_embeddings" not in cfg) == (v == "exaone3.5"),
              "%s: no lm_head tensor; tie_word_embeddings %s" % (v, "absent (default true)" if v == "exaone3.5" else "true"))
        cfg["tie_word_embeddings"] = False
        mtm.write_folder(P(v + "-untied"), cfg, w + [("lm_head.weight", dict(w)[emb])])
        check(np.array_equal(logits(P(v + "f32")), logits(P(v + "-untied"))), "%s: tied == untied with lm_head = embedding" % v)

    # 5. every config spelling and sharding gives identical logits
    for pf in ("list", "int", "string"):
        for rf in ("scaling", "parameters"):
            for sh in (1, 3):
                mtm.make_model(P("form"), "exaone4-hybrid", "f32", sh, pattern_form=pf, rope_form=rf)
                check(np.array_equal(logits(P("form")), base), "hybrid pattern=%s rope=%s shards=%d: identical logits" % (pf, rf, sh))
    mtm.make_model(P("form"), "exaone3.5", "bf16", 3)
    check(np.array_equal(logits(P("form")), logits(P("exaone3.5bf16"))), "exaone3.5 bf16: 3 shards == single file")

    # 6. causality: a prefix's logits are the first rows of the full sequence's
    for v in mtm.VARIANTS:
        full_ = logits(P(v + "f32"))
        pre = logits(P(v + "f32"), TOKENS[:17])
        check(np.abs(full_[:17] - pre).max() < 1e-5, "%s: prefix logits == first rows of full logits" % v)

    # 7. llama3 regimes (spec §2.3 orientation numbers)
    for d_, f, want in ((80, 8.0, (17, 4, 19)), (64, 16.0, (14, 3, 15)), (128, 8.0, (27, 7, 30)), (128, 16.0, (27, 7, 30))):
        c = reference.resolve_config({"model_type": "exaone4", "hidden_size": d_ * 4, "num_hidden_layers": 1,
                                      "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": d_,
                                      "intermediate_size": 8, "vocab_size": 8, "rope_theta": 1e6,
                                      "rope_scaling": mtm.llama3_block(f), "sliding_window": None})
        mm = reference.Model.__new__(reference.Model)
        mm.torch, mm.cfg = __import__("torch"), c
        inv = mm.inv_freq().numpy()
        plain = 1.0 / (1e6 ** (np.arange(0, d_, 2, dtype=np.float32) / d_))
        r = plain.astype(np.float64) / inv
        got = (int(np.sum(np.abs(r - 1) < 1e-5)), int(np.sum((np.abs(r - 1) >= 1e-5) & (np.abs(r - f) >= 1e-3))),
               int(np.sum(np.abs(r - f) < 1e-3)))
        check(got == want, "llama3 d=%d f=%g: unchanged/blended/divided = %s (spec %s)" % (d_, f, got, want))

    # 8. safetensors: exact round trip of f16/bf16 values, layout defects rejected by the reader
    w = mtm.make_weights("exaone3.0", 1)
    for dt in ("bf16", "f16"):
        mtm.write_folder(P("rt"), mtm.build_config("exaone3.0", dt), w, dt)
        rd = reference.read_safetensors(P("rt", "model.safetensors"))
        if dt == "bf16":
            import torch
            exp = {n: torch.from_numpy(a).bfloat16().float().numpy() for n, a in w}
        else:
            exp = {n: a.astype(np.float16).astype(np.float32) for n, a in w}
        ok = all(np.array_equal(rd[n][0], exp[n]) for n, _ in w)
        check(ok and all(rd[n][1] == dt.upper() for n, _ in w), "safetensors %s round trip exact (bf16 = torch RNE)" % dt)
    with open(P("rt", "model.safetensors"), "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        hdr = f.read(n)
    check(n % 8 == 0 and hdr.startswith(b'{"__metadata__":{"format":"pt"}'), "safetensors header padded to 8, metadata first")
    for case in ("st-truncated-data", "st-file-shorter-than-length-field", "st-header-length-past-eof",
                 "st-header-length-2e60", "st-offsets-overlap", "st-offsets-out-of-range", "st-offsets-size-mismatch",
                 "st-offsets-reversed", "st-unknown-dtype", "st-negative-shape", "st-header-invalid-json"):
        d_ = P("bad", case)
        mbi.CASES[case][0](d_)
        try:
            reference.read_safetensors(os.path.join(d_, "model.safetensors"))
            rejected = False
        except (reference.ModelError, ValueError, KeyError):
            rejected = True
        check(rejected, "reader rejects bad input %s" % case)

    # 9. bf16 compute mode: close to f32, exaone4 logits are bf16 values
    for v in mtm.VARIANTS:
        f32 = logits(P(v + "bf16"))
        b16 = logits(P(v + "bf16"), compute="bf16")
        rel = float(np.sqrt(np.mean((f32 - b16) ** 2)) / np.sqrt(np.mean(f32 ** 2)))
        bf_vals = np.array_equal(b16, (mtm.f32_to_bf16_bits(b16).astype(np.uint32) << 16).view(np.float32))
        check(1e-4 < rel < 0.05 and (bf_vals or v.startswith("exaone3")),
              "%s: bf16-compute vs f32 relative rms %.3g%s" % (v, rel, ", logits bf16-valued" if bf_vals else ""))

    # 10. greedy == argmax of the forward pass over the grown sequence
    mg = reference.Model(P("exaone4-hybridf32"))
    ids = mg.greedy([1, 2, 3], 6)
    lg = mg.forward([1, 2, 3] + ids[:-1]).numpy()
    check(list(np.argmax(lg[2:], axis=1)) == ids, "greedy ids == argmax of forward logits")

    print("%d checks failed; %.1f s" % (len(FAILS), time.time() - t0))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
