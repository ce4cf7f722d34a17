#!/usr/bin/python3
"""reference.py — independent EXAONE reference forward pass with Hugging Face semantics (torch).

Owns: a safetensors *reader* written from the format description (independent of the C loader and
of make_tiny_models.py's writer), HF config resolution for `exaone` (3.0/3.5/Deep) and `exaone4`
(4.0) (REF: spec §1.2), and the forward pass of both families exactly as the HF modeling code
computes it (REF: spec §2–§4): RMSNorm in fp32 cast back before the weight, rotate-half RoPE with
HF's fp32 llama3 inv_freq, GQA repeat_kv, causal / sliding (i - j < W) masks, softmax in fp32,
exaone = pre-norm, exaone4 = QK-Reorder-Norm with NoPE globals in hybrid models.

Compute modes:
  f32 (default)  every op in float32; bf16/f16 weights are upcast exactly to float32 first.
  bf16           reproduces an HF bf16 eager run op by op (spec §2.7): weights rounded to bf16,
                 every elementwise op / GEMM output rounded to bf16, RMSNorm and softmax internals
                 in fp32, cos/sin cast to bf16, 3.x logits upcast after the bf16 lm_head GEMM.
                 Only comparable to an fp32 engine within a loose tolerance (see docs/testing-models.md).

usage: reference.py --model DIR --tokens 1,2,3 --out logits.bin [--greedy N --greedy-out ids.txt]
                    [--compute-dtype f32|bf16]
  logits.bin: float32 little-endian [n_tokens][vocab] (logits of every position).
  --greedy N: greedy-decodes N tokens after --tokens (full recomputation each step, stops after
              the config's eos_token_id like HF generate), prints the ids space-separated on stdout
              (and writes them to --greedy-out if given).
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np

ST_DTYPES = {"F32": (4, "<f4"), "F16": (2, "<f2"), "BF16": (2, "<u2"), "F64": (8, "<f8")}


class ModelError(Exception):
    pass


def kv_round(torch, x, kind):
    """x (..., d) float32 rounded the way the engine's KV cache stores it (kind: None/"f32" = exact,
    "f16"/"bf16" = round to nearest even, "q8_0" = ggml block_q8_0 per 32 values of each head
    vector, zero-padded when d % 32 != 0: d = amax/127, q = round-half-away(x/d), value = f16(d)*q)."""
    if kind in (None, "f32"):
        return x
    if kind == "f16":
        return x.half().float()
    if kind == "bf16":
        return x.bfloat16().float()
    if kind != "q8_0":
        raise ValueError("unknown KV cache type " + kind)
    d = x.shape[-1]
    nb = (d + 31) // 32
    xp = torch.nn.functional.pad(x, (0, nb * 32 - d)).reshape(*x.shape[:-1], nb, 32)
    amax = xp.abs().amax(dim=-1, keepdim=True)
    s = amax / 127.0
    inv = torch.where(s != 0, 1.0 / torch.where(s != 0, s, torch.ones_like(s)), torch.zeros_like(s))
    v = xp * inv
    q = (torch.sign(v) * torch.floor(v.abs() + 0.5)).clamp(-128, 127)
    out = (s.half().float() * q).reshape(*x.shape[:-1], nb * 32)
    return out[..., :d].contiguous()


# ---- safetensors reader --------------------------------------------------------------------
def read_safetensors(path):
    """Returns {name: (numpy float32 array, stored dtype string)}; validates the layout strictly."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ModelError("%s: file shorter than the 8-byte header length" % path)
        (n,) = struct.unpack("<Q", head)
        if n > size - 8:
            raise ModelError("%s: header length %d past end of file" % (path, n))
        hdr = json.loads(f.read(n).decode("utf-8"))
        data = f.read()
    if not isinstance(hdr, dict):
        raise ModelError("%s: header is not a JSON object" % path)
    out, spans = {}, []
    for name, info in hdr.items():
        if name == "__metadata__":
            continue
        dt = info["dtype"]
        if dt not in ST_DTYPES:
            raise ModelError("%s: tensor %s has unsupported dtype %s" % (path, name, dt))
        isz, npdt = ST_DTYPES[dt]
        shape = [int(s) for s in info["shape"]]
        if any(s < 0 for s in shape):
            raise ModelError("%s: tensor %s has a negative dimension" % (path, name))
        b, e = (int(x) for x in info["data_offsets"])
        numel = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if not (0 <= b <= e <= len(data)) or e - b != numel * isz:
            raise ModelError("%s: tensor %s has bad data_offsets [%d, %d]" % (path, name, b, e))
        spans.append((b, e, name))
        raw = np.frombuffer(data, dtype=npdt, count=numel, offset=b)
        if dt == "BF16":
            arr = (raw.astype(np.uint32) << 16).view(np.float32)
        else:
            arr = raw.astype(np.float32)
        out[name] = (arr.reshape(shape), dt)
    spans.sort()
    for (b0, e0, n0), (b1, e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise ModelError("%s: tensors %s and %s overlap" % (path, n0, n1))
    return out


def load_tensors(model_dir):
    idx = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx, encoding="utf-8") as f:
            wm = json.load(f)["weight_map"]
        tensors = {}
        for fname in sorted(set(wm.values())):
            part = read_safetensors(os.path.join(model_dir, fname))
            for name, t in part.items():
                if wm.get(name) != fname:
                    raise ModelError("%s: tensor %s not listed for this shard in the index" % (fname, name))
                tensors[name] = t
        missing = [n for n in wm if n not in tensors]
        if missing:
            raise ModelError("%s: tensor %s missing from its shard" % (idx, missing[0]))
        return tensors
    return read_safetensors(os.path.join(model_dir, "model.safetensors"))


# ---- config resolution (HF semantics) ------------------------------------------------------
def resolve_config(c):
    """Normalised hyper-parameters from a raw config.json dict (REF: spec §1.2)."""
    mt = c.get("model_type")
    r = {"family": mt, "D": c["hidden_size"], "H": c["num_attention_heads"], "F": c["intermediate_size"],
         "V": c["vocab_size"], "eos": c.get("eos_token_id", 361)}
    r["Hkv"] = c.get("num_key_value_heads", r["H"])
    if mt == "exaone":
        if "num_layers" in c and "num_hidden_layers" in c and c["num_layers"] != c["num_hidden_layers"]:
            raise ModelError("config.json: num_layers and num_hidden_layers disagree")
        r["L"] = c["num_layers"] if "num_layers" in c else c["num_hidden_layers"]
        r["eps"] = c.get("layer_norm_epsilon", 1e-5)
        act = c.get("activation_function", "silu")
        if r["D"] % r["H"]:
            raise ModelError("config.json: hidden_size not divisible by num_attention_heads")
        r["d"] = r["D"] // r["H"]  # the 3.x code ignores head_dim (spec §1.2)
        theta, scaling = c.get("rope_theta", 10000.0), c.get("rope_scaling")
        r["tie"] = c.get("tie_word_embeddings", True)
        r["layer_types"] = ["full_attention"] * r["L"]
        r["window"] = None
        r["use_rope"] = [True] * r["L"]
    elif mt == "exaone4":
        r["L"] = c["num_hidden_layers"]
        r["eps"] = c.get("rms_norm_eps", 1e-5)
        act = c.get("hidden_act", "silu")
        r["d"] = c.get("head_dim") or r["D"] // r["H"]
        if "rope_parameters" in c and c["rope_parameters"] is not None:
            rp = dict(c["rope_parameters"])
            theta = rp.pop("rope_theta")
            scaling = rp if rp.get("rope_type", rp.get("type", "default")) != "default" else None
        else:
            theta, scaling = c.get("rope_theta", 10000.0), c.get("rope_scaling")
        r["tie"] = c.get("tie_word_embeddings", False)
        # Exaone4Config defaults when the keys are absent: sliding_window 4096, pattern 4 (an
        # explicit null window means no hybrid attention at all).
        W = c.get("sliding_window", 4096)
        lt = c.get("layer_types")
        if lt is None:
            pat = c.get("sliding_window_pattern", 4)
            if W is None:
                lt = ["full_attention"] * r["L"]
            elif isinstance(pat, int) and not isinstance(pat, bool) and pat > 0:
                lt = ["sliding_attention" if (i + 1) % pat else "full_attention" for i in range(r["L"])]
            elif isinstance(pat, str) and pat and set(pat) <= {"L", "G"}:
                lt = ["sliding_attention" if pat[i % len(pat)] == "L" else "full_attention" for i in range(r["L"])]
            else:
                raise ModelError("config.json: sliding_window set but no usable layer_types / sliding_window_pattern")
        if len(lt) != r["L"] or not set(lt) <= {"full_attention", "sliding_attention"}:
            raise ModelError("config.json: bad layer_types")
        r["layer_types"] = list(lt)
        r["window"] = W
        r["use_rope"] = [W is None or t == "sliding_attention" for t in lt]
    else:
        raise ModelError("config.json: unknown model_type %r" % (mt,))
    if act != "silu":
        raise ModelError("config.json: unsupported activation %r" % (act,))
    if min(r["D"], r["H"], r["Hkv"], r["F"], r["V"], r["L"], r["d"]) <= 0 or r["H"] % r["Hkv"] or r["d"] % 2:
        raise ModelError("config.json: invalid head / size configuration")
    r["theta"] = float(theta)
    if scaling is not None:
        rt = scaling.get("rope_type", scaling.get("type"))
        if rt == "default":
            scaling = None
        elif rt != "llama3":
            raise ModelError("config.json: unsupported rope type %r" % (rt,))
    r["rope_scaling"] = scaling
    return r


# ---- model --------------------------------------------------------------------------------
class Model:
    def __init__(self, model_dir):
        import torch
        self.torch = torch
        with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
            self.raw_config = json.load(f)
        self.cfg = resolve_config(self.raw_config)
        self.np_weights = {n: a for n, (a, _) in load_tensors(model_dir).items()}
        self.w = {n: torch.from_numpy(np.array(a)) for n, a in self.np_weights.items()}
        c = self.cfg
        names = self.tensor_names()
        missing = [n for n in names if n not in self.w]
        if missing:
            raise ModelError("%s: missing tensor %s" % (model_dir, missing[0]))
        for n, shape in names.items():
            if tuple(self.w[n].shape) != shape:
                raise ModelError("%s: tensor %s has shape %s, config wants %s"
                                 % (model_dir, n, tuple(self.w[n].shape), shape))
        self.emb_name = "transformer.wte.weight" if c["family"] == "exaone" else "model.embed_tokens.weight"
        self.lm_name = self.emb_name if c["tie"] else "lm_head.weight"

    def tensor_names(self):
        """{name: shape} the config requires (REF: spec §5)."""
        c = self.cfg
        D, F, V, H, Hkv, d = c["D"], c["F"], c["V"], c["H"], c["Hkv"], c["d"]
        t = {}
        if c["family"] == "exaone":
            t["transformer.wte.weight"] = (V, D)
            t["transformer.ln_f.weight"] = (D,)
            for l in range(c["L"]):
                p = "transformer.h.%d." % l
                t.update({p + "ln_1.weight": (D,), p + "ln_2.weight": (D,),
                          p + "attn.attention.q_proj.weight": (H * d, D),
                          p + "attn.attention.k_proj.weight": (Hkv * d, D),
                          p + "attn.attention.v_proj.weight": (Hkv * d, D),
                          p + "attn.attention.out_proj.weight": (D, H * d),
                          p + "mlp.c_fc_0.weight": (F, D), p + "mlp.c_fc_1.weight": (F, D),
                          p + "mlp.c_proj.weight": (D, F)})
        else:
            t["model.embed_tokens.weight"] = (V, D)
            t["model.norm.weight"] = (D,)
            for l in range(c["L"]):
                p = "model.layers.%d." % l
                t.update({p + "self_attn.q_proj.weight": (H * d, D), p + "self_attn.k_proj.weight": (Hkv * d, D),
                          p + "self_attn.v_proj.weight": (Hkv * d, D), p + "self_attn.o_proj.weight": (D, H * d),
                          p + "self_attn.q_norm.weight": (d,), p + "self_attn.k_norm.weight": (d,),
                          p + "post_attention_layernorm.weight": (D,),
                          p + "post_feedforward_layernorm.weight": (D,),
                          p + "mlp.gate_proj.weight": (F, D), p + "mlp.up_proj.weight": (F, D),
                          p + "mlp.down_proj.weight": (D, F)})
        if not c["tie"]:
            t["lm_head.weight"] = (V, D)
        return t

    # -- building blocks
    def inv_freq(self):
        """HF _compute_default_rope_parameters + _compute_llama3_parameters, fp32 tensor math (spec §2.3)."""
        torch = self.torch
        c = self.cfg
        d = c["d"]
        inv = 1.0 / (c["theta"] ** (torch.arange(0, d, 2, dtype=torch.int64).to(dtype=torch.float) / d))
        s = c["rope_scaling"]
        if s is None:
            return inv
        factor, lo, hi = s["factor"], s["low_freq_factor"], s["high_freq_factor"]
        old = s["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old / lo, old / hi
        wavelen = 2 * math.pi / inv
        inv_l = torch.where(wavelen > low_wavelen, inv / factor, inv)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
        medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
        return torch.where(medium, smoothed, inv_l)

    def rope_tables(self, T, cd):
        torch = self.torch
        pos = torch.arange(T, dtype=torch.int64).float()
        freqs = pos[:, None] * self.inv_freq()[None, :]  # (T, d/2) fp32
        emb = torch.cat((freqs, freqs), dim=-1)          # (T, d)
        return emb.cos().to(cd), emb.sin().to(cd)

    def rms(self, x, w, cd):
        x32 = x.to(self.torch.float32)
        y = x32 * self.torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.cfg["eps"])
        return w.to(cd) * y.to(cd)

    def rotate_half(self, x):
        h = x.shape[-1] // 2
        return self.torch.cat((-x[..., h:], x[..., :h]), dim=-1)

    def mask(self, T, window):
        """True where key j is NOT visible to query i: j > i, or (sliding) i - j >= W (spec §2.4)."""
        torch = self.torch
        i = torch.arange(T)[:, None]
        j = torch.arange(T)[None, :]
        m = j > i
        if window is not None:
            m = m | (i - j >= window)
        return m

    def attention(self, x, l, cos, sin, cd, kv=None):
        torch = self.torch
        c = self.cfg
        T = x.shape[0]
        H, Hkv, d = c["H"], c["Hkv"], c["d"]
        W = lambda n: self.W[n]
        if c["family"] == "exaone":
            p = "transformer.h.%d.attn.attention." % l
            q = torch.nn.functional.linear(x, W(p + "q_proj.weight"))
            k = torch.nn.functional.linear(x, W(p + "k_proj.weight"))
            v = torch.nn.functional.linear(x, W(p + "v_proj.weight"))
        else:
            p = "model.layers.%d.self_attn." % l
            q = torch.nn.functional.linear(x, W(p + "q_proj.weight"))
            k = torch.nn.functional.linear(x, W(p + "k_proj.weight"))
            v = torch.nn.functional.linear(x, W(p + "v_proj.weight"))
        q = q.view(T, H, d).transpose(0, 1)     # (H, T, d)
        k = k.view(T, Hkv, d).transpose(0, 1)   # (Hkv, T, d)
        v = v.view(T, Hkv, d).transpose(0, 1)
        if c["family"] == "exaone4":            # QK-norm per head before RoPE (spec §4)
            q = self.rms(q, W(p + "q_norm.weight"), cd)
            k = self.rms(k, W(p + "k_norm.weight"), cd)
        if c["use_rope"][l]:
            q = q * cos + self.rotate_half(q) * sin
            k = k * cos + self.rotate_half(k) * sin
        k, v = kv_round(torch, k, kv), kv_round(torch, v, kv)  # the engine's cache rounding (f32: none)
        G = H // Hkv                              # repeat_kv: KV head h // G serves query head h
        k = k[:, None].expand(Hkv, G, T, d).reshape(H, T, d)
        v = v[:, None].expand(Hkv, G, T, d).reshape(H, T, d)
        s = torch.matmul(q, k.transpose(1, 2))
        s = s / math.sqrt(d) if c["family"] == "exaone" else s * d ** -0.5
        window = c["window"] if c["layer_types"][l] == "sliding_attention" else None
        s = s.to(torch.float32).masked_fill(self.mask(T, window), float("-inf"))
        pr = torch.softmax(s, dim=-1, dtype=torch.float32).to(cd)
        o = torch.matmul(pr, v).transpose(0, 1).reshape(T, H * d)
        oname = p + ("out_proj.weight" if c["family"] == "exaone" else "o_proj.weight")
        return torch.nn.functional.linear(o, W(oname))

    def mlp(self, x, gate, up, down):
        F = self.torch.nn.functional
        return F.linear(F.silu(F.linear(x, self.W[gate])) * F.linear(x, self.W[up]), self.W[down])

    def forward(self, tokens, compute="f32", kv=None):
        """Logits (T, V) as float32 for the token list (one sequence, positions 0..T-1); kv names
        the rounding of cached keys/values to emulate (kv_round), None for exact."""
        torch = self.torch
        cd = torch.float32 if compute == "f32" else torch.bfloat16
        self.W = {n: t.to(cd) for n, t in self.w.items()} if compute != "f32" else self.w
        c = self.cfg
        ids = torch.tensor(tokens, dtype=torch.int64)
        if int(ids.min()) < 0 or int(ids.max()) >= c["V"]:
            raise ModelError("token id out of range [0, %d)" % c["V"])
        T = len(tokens)
        cos, sin = self.rope_tables(T, cd)
        h = self.W[self.emb_name][ids]  # no embedding scaling (spec §2.6)
        with torch.no_grad():
            for l in range(c["L"]):
                if c["family"] == "exaone":
                    p = "transformer.h.%d." % l
                    a = self.rms(h, self.W[p + "ln_1.weight"], cd)
                    h = h + self.attention(a, l, cos, sin, cd, kv)
                    m = self.rms(h, self.W[p + "ln_2.weight"], cd)
                    h = h + self.mlp(m, p + "mlp.c_fc_0.weight", p + "mlp.c_fc_1.weight", p + "mlp.c_proj.weight")
                else:
                    p = "model.layers.%d." % l
                    o = self.attention(h, l, cos, sin, cd, kv)
                    h = h + self.rms(o, self.W[p + "post_attention_layernorm.weight"], cd)
                    u = self.mlp(h, p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight", p + "mlp.down_proj.weight")
                    h = h + self.rms(u, self.W[p + "post_feedforward_layernorm.weight"], cd)
            fn = "transformer.ln_f.weight" if c["family"] == "exaone" else "model.norm.weight"
            hn = self.rms(h, self.W[fn], cd)
            logits = torch.nn.functional.linear(hn, self.W[self.lm_name])
        return logits.to(torch.float32)

    def greedy(self, tokens, n, compute="f32", stop_at_eos=True, kv=None):
        """Greedy continuation of `tokens` (n new ids, full recomputation per step), HF-generate style:
        stops after emitting eos_token_id (which is included)."""
        seq, out, margins = list(tokens), [], []
        eos = self.cfg["eos"]
        eos = set(eos if isinstance(eos, list) else [eos])
        for _ in range(n):
            last = self.forward(seq, compute, kv)[-1]
            top2 = self.torch.topk(last, 2).values
            margins.append(float(top2[0] - top2[1]))
            nxt = int(self.torch.argmax(last))
            seq.append(nxt)
            out.append(nxt)
            if stop_at_eos and nxt in eos:
                break
        self.last_margins = margins
        return out


def parse_tokens(s):
    return [int(t) for t in s.replace(",", " ").split()]


def write_logits(path, logits):
    np.ascontiguousarray(logits.numpy(), dtype="<f4").tofile(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="HF model folder")
    ap.add_argument("--tokens", required=True, help="comma or space separated token ids")
    ap.add_argument("--out", help="write float32 LE [n_tokens][vocab] logits here")
    ap.add_argument("--greedy", type=int, default=0, help="greedy-decode this many tokens")
    ap.add_argument("--greedy-out", help="also write the generated ids to this file")
    ap.add_argument("--compute-dtype", default="f32", choices=["f32", "bf16"])
    a = ap.parse_args(argv)
    try:
        m = Model(a.model)
        toks = parse_tokens(a.tokens)
        if not toks:
            raise ModelError("no tokens")
        if a.out:
            write_logits(a.out, m.forward(toks, a.compute_dtype))
        if a.greedy:
            ids = m.greedy(toks, a.greedy, a.compute_dtype)
            line = " ".join(str(i) for i in ids)
            print(line)
            if a.greedy_out:
                with open(a.greedy_out, "w") as f:
                    f.write(line + "\n")
    except (ModelError, KeyError, ValueError, OSError) as e:
        print("reference.py: %s" % (e,), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
