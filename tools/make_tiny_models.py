#!/usr/bin/python3
"""make_tiny_models.py — writes tiny random EXAONE checkpoints in the exact Hugging Face folder layout.

Owns: the tiny test-model variants (exaone 3.0 / 3.5, exaone4 1.2B-like / 32B-like hybrid), their
config.json spelling per family (REF: spec §1.2), tensor names and shapes (REF: spec §5), and an
independent safetensors *writer* (8-byte LE header length, compact JSON header padded with spaces
to a multiple of 8, tensors sorted by name as the safetensors library does, `__metadata__`
{"format": "pt"} as transformers' save_pretrained writes), sharding with model.safetensors.index.json,
and generation_config.json.

Only numpy is needed (bf16 is produced with round-to-nearest-even from float32, like torch).
Weights depend only on (variant, seed): the dtype, the sharding and the config spelling options do
not change the values (beyond the dtype's rounding), so forms can be compared against each other.

usage: make_tiny_models.py --out DIR [--variant NAME] [--dtype f32|bf16|f16] [--shards N] [--seed S]
                           [--pattern-form list|int|string] [--rope-form scaling|parameters]
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np

# ---- variants -------------------------------------------------------------------------------
# Shapes are tiny but keep the real structural features (GQA with G > 1, head_dim 80 for 3.5-2.4B,
# llama3 scaling with original_max_position_embeddings 8192 so that all three frequency regimes
# occur, 3:1 local/global pattern with NoPE globals for the 32B-like hybrid).
VARIANTS = {
    "exaone3.0": dict(family="exaone", vocab=512, hidden=128, layers=3, heads=4, kv=2, head_dim=None,
                      ffn=256, theta=500000.0, scaling=None, max_pos=4096, tie=False, tie_key=True),
    "exaone3.5": dict(family="exaone", vocab=512, hidden=320, layers=2, heads=4, kv=2, head_dim=80,
                      ffn=384, theta=1000000.0, scaling=8.0, max_pos=32768, tie=True, tie_key=False),
    "exaone4-1.2b": dict(family="exaone4", vocab=512, hidden=256, layers=3, heads=4, kv=1, head_dim=64,
                         ffn=512, theta=1000000.0, scaling=16.0, max_pos=65536, tie=True, tie_key=True,
                         sliding_window=None, pattern=None),
    "exaone4-hybrid": dict(family="exaone4", vocab=512, hidden=128, layers=8, heads=4, kv=2, head_dim=32,
                           ffn=256, theta=1000000.0, scaling=16.0, max_pos=131072, tie=False, tie_key=True,
                           sliding_window=8, pattern="LLLG"),
}
DEFAULT_SEED = {"exaone3.0": 30, "exaone3.5": 35, "exaone4-1.2b": 41, "exaone4-hybrid": 3}

DTYPES = {"f32": ("F32", "float32"), "bf16": ("BF16", "bfloat16"), "f16": ("F16", "float16")}

BOS, EOS, PAD = 1, 361, 0


def head_dim_of(v):
    return v["head_dim"] if v["head_dim"] else v["hidden"] // v["heads"]


def layer_types_of(v):
    """exaone4 layer types as HF resolves them (REF: spec §1.2 rules 1-2)."""
    if v.get("sliding_window") is None:
        return ["full_attention"] * v["layers"]
    pat = v["pattern"]
    return ["sliding_attention" if pat[i % len(pat)] == "L" else "full_attention" for i in range(v["layers"])]


def llama3_block(factor):
    return {"factor": factor, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
            "original_max_position_embeddings": 8192, "rope_type": "llama3"}


def build_config(name, dtype="f32", pattern_form="list", rope_form="scaling"):
    """config.json contents with the family's real key spelling (REF: spec §1.2)."""
    v = VARIANTS[name]
    torch_dtype = DTYPES[dtype][1]
    if v["family"] == "exaone":
        c = {
            "activation_function": "silu",
            "architectures": ["ExaoneForCausalLM"],
            "attention_dropout": 0.0,
            "auto_map": {"AutoConfig": "configuration_exaone.ExaoneConfig",
                         "AutoModelForCausalLM": "modeling_exaone.ExaoneForCausalLM",
                         "AutoModelForSequenceClassification": "modeling_exaone.ExaoneForSequenceClassification"},
            "bos_token_id": BOS, "embed_dropout": 0.0, "eos_token_id": EOS,
            "hidden_size": v["hidden"], "initializer_range": 0.02, "intermediate_size": v["ffn"],
            "layer_norm_epsilon": 1e-05, "max_position_embeddings": v["max_pos"], "model_type": "exaone",
            "num_attention_heads": v["heads"], "num_key_value_heads": v["kv"], "num_layers": v["layers"],
            "pad_token_id": PAD,
            "rope_scaling": llama3_block(v["scaling"]) if v["scaling"] else None,
            "rope_theta": v["theta"], "torch_dtype": torch_dtype, "transformers_version": "4.43.0",
            "use_cache": True, "vocab_size": v["vocab"],
        }
        if v["head_dim"]:
            c["head_dim"] = v["head_dim"]
        if v["tie_key"]:
            c["tie_word_embeddings"] = v["tie"]
        return c
    c = {
        "architectures": ["Exaone4ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": BOS,
        "eos_token_id": EOS, "head_dim": head_dim_of(v), "hidden_act": "silu", "hidden_size": v["hidden"],
        "initializer_range": 0.02, "intermediate_size": v["ffn"], "max_position_embeddings": v["max_pos"],
        "model_type": "exaone4", "num_attention_heads": v["heads"], "num_hidden_layers": v["layers"],
        "num_key_value_heads": v["kv"], "pad_token_id": PAD, "rms_norm_eps": 1e-05,
        "sliding_window": v["sliding_window"], "tie_word_embeddings": v["tie"],
        "transformers_version": "4.54.0", "use_cache": True, "vocab_size": v["vocab"],
    }
    rope = llama3_block(v["scaling"]) if v["scaling"] else None
    if rope_form == "parameters":  # transformers v5: theta folded into rope_parameters, `dtype` key
        p = dict(rope) if rope else {"rope_type": "default"}
        p["rope_theta"] = v["theta"]
        c["rope_parameters"] = p
        c["dtype"] = torch_dtype
        c["transformers_version"] = "5.0.0"
    else:
        c["rope_scaling"] = rope
        c["rope_theta"] = v["theta"]
        c["torch_dtype"] = torch_dtype
    if v["sliding_window"] is None:
        c["layer_types"] = layer_types_of(v)
        c["sliding_window_pattern"] = None
    elif pattern_form == "list":
        c["layer_types"] = layer_types_of(v)
        c["sliding_window_pattern"] = len(v["pattern"])
    elif pattern_form == "int":
        assert v["pattern"] == "L" * (len(v["pattern"]) - 1) + "G"
        c["sliding_window_pattern"] = len(v["pattern"])
    elif pattern_form == "string":
        c["sliding_window_pattern"] = v["pattern"]
    else:
        raise ValueError("unknown pattern form " + pattern_form)
    return c


def make_weights(name, seed):
    """Ordered [(tensor name, float32 array)] in HF state-dict order (REF: spec §5)."""
    v = VARIANTS[name]
    rng = np.random.default_rng(seed)
    D, F, V, H, Hkv, d = v["hidden"], v["ffn"], v["vocab"], v["heads"], v["kv"], head_dim_of(v)

    def lin(out_f, in_f):
        return (rng.standard_normal((out_f, in_f)) / math.sqrt(in_f)).astype(np.float32)

    def norm(n):
        return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    w = []
    if v["family"] == "exaone":
        w.append(("transformer.wte.weight", (0.1 * rng.standard_normal((V, D))).astype(np.float32)))
        for l in range(v["layers"]):
            p = "transformer.h.%d." % l
            w.append((p + "ln_1.weight", norm(D)))
            w.append((p + "attn.attention.k_proj.weight", lin(Hkv * d, D)))
            w.append((p + "attn.attention.v_proj.weight", lin(Hkv * d, D)))
            w.append((p + "attn.attention.q_proj.weight", lin(H * d, D)))
            w.append((p + "attn.attention.out_proj.weight", lin(D, H * d)))
            w.append((p + "ln_2.weight", norm(D)))
            w.append((p + "mlp.c_fc_0.weight", lin(F, D)))
            w.append((p + "mlp.c_fc_1.weight", lin(F, D)))
            w.append((p + "mlp.c_proj.weight", lin(D, F)))
        w.append(("transformer.ln_f.weight", norm(D)))
    else:
        w.append(("model.embed_tokens.weight", (0.1 * rng.standard_normal((V, D))).astype(np.float32)))
        for l in range(v["layers"]):
            p = "model.layers.%d." % l
            w.append((p + "self_attn.q_proj.weight", lin(H * d, D)))
            w.append((p + "self_attn.k_proj.weight", lin(Hkv * d, D)))
            w.append((p + "self_attn.v_proj.weight", lin(Hkv * d, D)))
            w.append((p + "self_attn.o_proj.weight", lin(D, H * d)))
            w.append((p + "self_attn.q_norm.weight", norm(d)))
            w.append((p + "self_attn.k_norm.weight", norm(d)))
            w.append((p + "mlp.gate_proj.weight", lin(F, D)))
            w.append((p + "mlp.up_proj.weight", lin(F, D)))
            w.append((p + "mlp.down_proj.weight", lin(D, F)))
            w.append((p + "post_attention_layernorm.weight", norm(D)))
            w.append((p + "post_feedforward_layernorm.weight", norm(D)))
        w.append(("model.norm.weight", norm(D)))
    if not v["tie"]:  # save_pretrained drops the tied duplicate, so tied models have no lm_head
        w.append(("lm_head.weight", lin(V, D)))
    return w


# ---- encoding and safetensors writing --------------------------------------------------------
def f32_to_bf16_bits(a):
    """float32 -> bf16 bit patterns (uint16), round to nearest even (what torch's .to(bfloat16) does)."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


def encode(a, dtype):
    """(safetensors dtype string, little-endian bytes) of a float32 array stored as `dtype`."""
    if dtype == "f32":
        return "F32", np.ascontiguousarray(a, dtype="<f4").tobytes()
    if dtype == "f16":
        return "F16", np.ascontiguousarray(a, dtype="<f2").tobytes()
    if dtype == "bf16":
        return "BF16", f32_to_bf16_bits(a).astype("<u2").tobytes()
    raise ValueError("unknown dtype " + dtype)


def safetensors_bytes(entries, metadata=None):
    """entries: [(name, dtype string, shape, raw bytes)]. Returns the file contents.

    Layout as the safetensors library writes it: data sorted by name (one dtype per file here),
    header = compact JSON with __metadata__ first then tensors in data order, padded with spaces
    to a multiple of 8 bytes, preceded by its length as u64 LE."""
    entries = sorted(entries, key=lambda e: e[0])
    parts, off = [], 0
    header_items = []
    if metadata is not None:
        header_items.append('"__metadata__":' + json.dumps(metadata, separators=(",", ":")))
    for name, dt, shape, raw in entries:
        header_items.append(json.dumps(name) + ":" + json.dumps(
            {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(raw)]}, separators=(",", ":")))
        parts.append(raw)
        off += len(raw)
    header = ("{" + ",".join(header_items) + "}").encode("utf-8")
    header += b" " * ((8 - len(header) % 8) % 8)
    return struct.pack("<Q", len(header)) + header + b"".join(parts)


def shard_plan(weights, dtype, shards):
    """Assigns each tensor (in state-dict order) to one of `shards` files by cumulative byte size,
    like huggingface_hub's split by max_shard_size (here: exactly `shards` non-empty shards)."""
    sizes = [len(encode(a, dtype)[1]) for _, a in weights]
    total = sum(sizes)
    if shards > len(weights):
        raise ValueError("more shards than tensors")
    plan, cum = [], 0
    for i, s in enumerate(sizes):
        k = min(shards - 1, (cum * shards) // total)
        # keep every shard non-empty: never run further ahead than the tensors left allow
        k = max(k, shards - (len(weights) - i))
        if plan:
            k = max(k, plan[-1])
            k = min(k, plan[-1] + 1)
        plan.append(k)
        cum += s
    assert plan[0] == 0 and plan[-1] == shards - 1
    return plan


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_folder(out, config, weights, dtype="f32", shards=1, generation_config=True):
    """Writes config.json, generation_config.json and the safetensors file(s) of `weights` into `out`."""
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):  # a re-run must not leave stale shards behind
        if (f.startswith("model") and f.endswith(".safetensors")) or f in (
                "model.safetensors.index.json", "config.json", "generation_config.json"):
            os.remove(os.path.join(out, f))
    write_json(os.path.join(out, "config.json"), config)
    if generation_config:
        write_json(os.path.join(out, "generation_config.json"),
                   {"_from_model_config": True, "bos_token_id": config.get("bos_token_id", BOS),
                    "eos_token_id": config.get("eos_token_id", EOS), "pad_token_id": config.get("pad_token_id", PAD),
                    "transformers_version": config.get("transformers_version", "4.54.0")})
    enc = [(n, a.shape) + encode(a, dtype) for n, a in weights]
    enc = [(n, dt, shape, raw) for n, shape, dt, raw in enc]
    if shards <= 1:
        with open(os.path.join(out, "model.safetensors"), "wb") as f:
            f.write(safetensors_bytes(enc, {"format": "pt"}))
        return ["model.safetensors"]
    plan = shard_plan(weights, dtype, shards)
    files = ["model-%05d-of-%05d.safetensors" % (k + 1, shards) for k in range(shards)]
    weight_map = {}
    for k in range(shards):
        part = [e for e, p in zip(enc, plan) if p == k]
        with open(os.path.join(out, files[k]), "wb") as f:
            f.write(safetensors_bytes(part, {"format": "pt"}))
        for e in part:
            weight_map[e[0]] = files[k]
    index = {"metadata": {"total_parameters": int(sum(a.size for _, a in weights)),
                          "total_size": int(sum(len(e[3]) for e in enc))},
             "weight_map": weight_map}
    write_json(os.path.join(out, "model.safetensors.index.json"), index)
    return files


def make_model(out, variant, dtype="f32", shards=1, seed=None, pattern_form="list", rope_form="scaling"):
    if seed is None:
        seed = DEFAULT_SEED[variant]
    cfg = build_config(variant, dtype, pattern_form, rope_form)
    return write_folder(out, cfg, make_weights(variant, seed), dtype, shards)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output folder (created)")
    ap.add_argument("--variant", default="exaone4-hybrid", choices=sorted(VARIANTS))
    ap.add_argument("--dtype", default="f32", choices=sorted(DTYPES))
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--seed", type=int, default=None, help="weight seed (default: per-variant)")
    ap.add_argument("--pattern-form", default="list", choices=["list", "int", "string"],
                    help="exaone4 hybrid: layer_types list, sliding_window_pattern int, or string")
    ap.add_argument("--rope-form", default="scaling", choices=["scaling", "parameters"],
                    help="exaone4: rope_theta + rope_scaling (transformers 4.x) or rope_parameters (v5)")
    a = ap.parse_args(argv)
    if a.shards < 1:
        ap.error("--shards must be >= 1")
    files = make_model(a.out, a.variant, a.dtype, a.shards, a.seed, a.pattern_form, a.rope_form)
    print("%s: %s %s, %d file(s)" % (a.out, a.variant, a.dtype, len(files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
