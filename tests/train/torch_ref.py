#!/usr/bin/python3
"""torch_ref.py — independent PyTorch (float64 autograd) reference of the EXAONE 4.0 / 3.x
training forward pass (spec §2-§4), used to check every parameter gradient the C trainer computes.

usage: torch_ref.py CONFIG.json DUMPDIR   (DUMPDIR holds weights.safetensors + grads.safetensors
written by train_dump). Exits 1 if the loss or any gradient differs beyond tolerance."""
import json, math, struct, sys
import numpy as np
import torch

def read_st(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        dt = {"F32": np.float32, "I32": np.int32}[v["dtype"]]
        out[k] = np.frombuffer(data[a:b], dtype=dt).reshape(v["shape"]).copy()
    return out, hdr.get("__metadata__", {})

def rope_inv_freq(cfg):
    d = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    base = float(cfg.get("rope_theta", 10000.0))
    # HF: computed in float32
    inv = 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    rs = cfg.get("rope_scaling")
    if rs and rs.get("rope_type", rs.get("type")) == "llama3":
        f, lo, hi, L = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
        lo_wl, hi_wl = L / lo, L / hi
        wl = 2 * math.pi / inv
        il = torch.where(wl > lo_wl, inv / f, inv)
        s = (L / wl - lo) / (hi - lo)
        sm = (1 - s) * il / f + s * il
        med = ~(wl < hi_wl) * ~(wl > lo_wl)
        inv = torch.where(med, sm, il)
    return inv

def rms(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

def rope(x, cos, sin):  # x (B, heads, T, d)
    h = x.shape[-1] // 2
    rot = torch.cat((-x[..., h:], x[..., :h]), -1)
    return x * cos + rot * sin

def lin(W, x, module, scale):
    """x·Wᵀ, plus the LoRA update scale·(x·Aᵀ)·Bᵀ when the dump carries adapters for module."""
    y = x @ W[module + ".weight"].T
    a = "base_model.model." + module + ".lora_A.weight"
    if a in W:
        y = y + scale * ((x @ W[a].T) @ W["base_model.model." + module + ".lora_B.weight"].T)
    return y

def forward(cfg, W, tokens, targets, scale=1.0):
    is4 = cfg.get("model_type", "exaone4") == "exaone4"
    D = cfg["hidden_size"]; H = cfg["num_attention_heads"]; Hk = cfg.get("num_key_value_heads", H)
    d = cfg.get("head_dim") or D // H
    L = cfg["num_hidden_layers"] if is4 else cfg["num_layers"]
    eps = cfg.get("rms_norm_eps" if is4 else "layer_norm_epsilon", 1e-5)
    tie = cfg.get("tie_word_embeddings", not is4)
    sw = cfg.get("sliding_window") if is4 else None
    types = cfg.get("layer_types") or ["full_attention"] * L
    B, T = tokens.shape
    inv = rope_inv_freq(cfg)
    ang = torch.arange(T, dtype=torch.float32)[:, None] * inv[None, :]   # fp32 like HF
    emb = torch.cat((ang, ang), -1).double()
    cos, sin = emb.cos(), emb.sin()
    E = W["model.embed_tokens.weight" if is4 else "transformer.wte.weight"]
    h = E[tokens]
    i = torch.arange(T)[:, None]; j = torch.arange(T)[None, :]
    for l in range(L):
        if is4:
            p = f"model.layers.{l}."; a = p + "self_attn."
            x = h
        else:
            p = f"transformer.h.{l}."; a = p + "attn.attention."
            x = rms(h, W[p + "ln_1.weight"], eps)
        q = lin(W, x, a + "q_proj", scale).view(B, T, H, d).transpose(1, 2)
        k = lin(W, x, a + "k_proj", scale).view(B, T, Hk, d).transpose(1, 2)
        v = lin(W, x, a + "v_proj", scale).view(B, T, Hk, d).transpose(1, 2)
        sliding = is4 and sw is not None and types[l] == "sliding_attention"
        if is4:
            q = rms(q, W[a + "q_norm.weight"], eps)
            k = rms(k, W[a + "k_norm.weight"], eps)
        if (not is4) or sw is None or sliding:
            q, k = rope(q, cos, sin), rope(k, cos, sin)
        k = k.repeat_interleave(H // Hk, dim=1); v = v.repeat_interleave(H // Hk, dim=1)
        mask = j <= i
        if sliding:
            mask = mask & (i - j < sw)
        s = (q @ k.transpose(-1, -2)) * d ** -0.5
        s = s.masked_fill(~mask, float("-inf"))
        o = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, H * d)
        o = lin(W, o, a + ("o_proj" if is4 else "out_proj"), scale)
        if is4:
            h = h + rms(o, W[p + "post_attention_layernorm.weight"], eps)
            mi = h
            g, u, dn = "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"
        else:
            h = h + o
            mi = rms(h, W[p + "ln_2.weight"], eps)
            g, u, dn = "mlp.c_fc_0", "mlp.c_fc_1", "mlp.c_proj"
        y = lin(W, torch.nn.functional.silu(lin(W, mi, p + g, scale)) * lin(W, mi, p + u, scale), p + dn, scale)
        h = h + (rms(y, W[p + "post_feedforward_layernorm.weight"], eps) if is4 else y)
    h = rms(h, W["model.norm.weight" if is4 else "transformer.ln_f.weight"], eps)
    logits = h @ (E if tie else W["lm_head.weight"]).T
    # target -1: position without loss (chat fine-tuning masks); the mean is over the others
    return torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1), ignore_index=-1)

def main():
    cfg = json.load(open(sys.argv[1]))
    w, meta = read_st(sys.argv[2] + "/weights.safetensors")
    g, _ = read_st(sys.argv[2] + "/grads.safetensors")
    tokens = torch.tensor(w.pop("tokens").astype(np.int64)); targets = torch.tensor(w.pop("targets").astype(np.int64))
    W = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in w.items()}
    r = int(meta.get("lora_r", "0"))
    loss = forward(cfg, W, tokens, targets, float(meta.get("lora_alpha", "1")) / r if r else 1.0)
    loss.backward()
    ok = True
    cl = float(meta["loss"])
    print(f"loss: C {cl:.7f} torch {loss.item():.7f}")
    if abs(cl - loss.item()) > 1e-5 * max(1.0, abs(loss.item())):
        print("FAIL loss mismatch"); ok = False
    worst = 0.0
    for k in g:
        ref = W[k].grad.numpy(); got = g[k].astype(np.float64)
        rel = np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-12)
        mx = np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-12)
        worst = max(worst, rel)
        bad = rel > 1e-4 or mx > 1e-3
        if bad or "-v" in sys.argv:
            print(f"{'FAIL' if bad else 'ok  '} {k:60s} rel-norm {rel:.2e} rel-max {mx:.2e} |g| {np.linalg.norm(ref):.3e}")
        ok &= not bad
    print(f"{len(g)} gradients compared, worst relative error {worst:.2e}: {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)

main()
