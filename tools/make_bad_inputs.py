#!/usr/bin/python3
"""make_bad_inputs.py — writes corrupt / hostile model folders for the loader's error tests.

Owns the catalogue of bad inputs (CASES): each is a small HF folder derived from a valid tiny model
(tools/make_tiny_models.py) with one defect — truncated or hostile safetensors headers and offsets,
tensors disagreeing with config.json, broken or contradictory config.json files, broken
model.safetensors.index.json files. Each case records which file the loader's one-line error must
name and words of which at least one must appear in it (tests/model/bad_inputs.py checks them).
Two valid control folders (good-exaone, good-exaone4-sharded) are written too.

usage: make_bad_inputs.py --out DIR     writes DIR/<case>/ for every case and DIR/manifest.json
       make_bad_inputs.py --list        prints the case names separated by ';'
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_tiny_models as mtm  # noqa: E402

ST = "model.safetensors"
CFG = "config.json"
IDX = "model.safetensors.index.json"
SHARD = "model-%05d-of-00003.safetensors"
# words one of which a message about a broken safetensors layout is expected to contain
LAYOUT_KW = ["truncat", "short", "size", "length", "end of file", "eof", "offset", "range", "bound",
             "exceed", "beyond", "past", "header", "invalid", "corrupt", "overflow", "large", "big"]

BASE4 = "exaone4-hybrid"   # default base model for a case
BASE3 = "exaone3.0"


def base_weights(variant):
    return mtm.make_weights(variant, mtm.DEFAULT_SEED[variant])


def write_base(d, variant=BASE4, shards=1, config=None, weights=None):
    cfg = config if config is not None else mtm.build_config(variant)
    w = weights if weights is not None else base_weights(variant)
    mtm.write_folder(d, cfg, w, "f32", shards)
    return cfg


def split_st(path):
    with open(path, "rb") as f:
        b = f.read()
    (n,) = struct.unpack("<Q", b[:8])
    return json.loads(b[8:8 + n]), b[8 + n:]


def join_st(path, header, data, raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def edit_header(d, fn, fname=ST):
    p = os.path.join(d, fname)
    h, data = split_st(p)
    fn(h)
    join_st(p, h, data)


def edit_config(d, fn):
    p = os.path.join(d, CFG)
    with open(p) as f:
        c = json.load(f)
    fn(c)
    mtm.write_json(p, c)


def tensors_by_offset(h):
    return sorted((k for k in h if k != "__metadata__"), key=lambda k: h[k]["data_offsets"][0])


# ---- individual cases: f(d) builds the folder ---------------------------------------------------
def st_truncated(d):
    write_base(d)
    p = os.path.join(d, ST)
    size = os.path.getsize(p)
    with open(p, "r+b") as f:
        f.truncate(size * 6 // 10)


def st_tiny_file(d):
    write_base(d)
    with open(os.path.join(d, ST), "wb") as f:
        f.write(b"\x10\x00\x00")


def st_header_len_past_eof(d):
    write_base(d)
    p = os.path.join(d, ST)
    size = os.path.getsize(p)
    with open(p, "r+b") as f:
        f.write(struct.pack("<Q", size))


def st_header_len_huge(d):
    write_base(d)
    with open(os.path.join(d, ST), "r+b") as f:
        f.write(struct.pack("<Q", 1 << 60))


def st_header_len_zero(d):
    write_base(d)
    with open(os.path.join(d, ST), "r+b") as f:
        f.write(struct.pack("<Q", 0))


def st_header_invalid_json(d):
    write_base(d)
    p = os.path.join(d, ST)
    h, data = split_st(p)
    join_st(p, None, data, raw_header=b'{"model.norm.weight":{"dtype":"F32","shape":[128],"data_offsets":[0,')


def st_header_not_object(d):
    write_base(d)
    p = os.path.join(d, ST)
    h, data = split_st(p)
    join_st(p, None, data, raw_header=b"[1,2,3]")


def st_non_utf8_name(d):
    write_base(d)
    p = os.path.join(d, ST)
    with open(p, "rb") as f:
        b = bytearray(f.read())
    (n,) = struct.unpack("<Q", b[:8])
    i = b.index(b'"model.norm.weight"', 8, 8 + n)
    b[i + 16:i + 18] = b"\xff\xfe"  # "model.norm.weig\xff\xfe": invalid UTF-8, same length
    with open(p, "wb") as f:
        f.write(b)


def st_offsets_overlap(d):
    write_base(d)

    def f(h):
        a, b = "model.layers.0.self_attn.q_norm.weight", "model.layers.0.self_attn.k_norm.weight"
        h[b]["data_offsets"] = list(h[a]["data_offsets"])
    edit_header(d, f)


def st_offsets_out_of_range(d):
    write_base(d)

    def f(h):
        last = tensors_by_offset(h)[-1]
        b, e = h[last]["data_offsets"]
        h[last]["data_offsets"] = [b + 4096, e + 4096]
    edit_header(d, f)


def st_offsets_huge(d):
    write_base(d)

    def f(h):
        t = "model.norm.weight"
        b, e = h[t]["data_offsets"]
        h[t]["data_offsets"] = [(1 << 62), (1 << 62) + (e - b)]
    edit_header(d, f)


def st_offsets_size_mismatch(d):
    write_base(d)

    def f(h):
        t = "model.norm.weight"
        b, e = h[t]["data_offsets"]
        h[t]["data_offsets"] = [b, e - 4]
    edit_header(d, f)


def st_offsets_reversed(d):
    write_base(d)

    def f(h):
        t = "model.norm.weight"
        b, e = h[t]["data_offsets"]
        h[t]["data_offsets"] = [e, b]
    edit_header(d, f)


def st_unknown_dtype(d):
    write_base(d)
    edit_header(d, lambda h: h["model.norm.weight"].__setitem__("dtype", "Q7"))


def st_integer_dtype(d):
    write_base(d)  # I32 has the same width as F32: offsets stay consistent, only the type is wrong
    edit_header(d, lambda h: h["model.norm.weight"].__setitem__("dtype", "I32"))


def st_negative_shape(d):
    write_base(d)
    edit_header(d, lambda h: h["model.norm.weight"].__setitem__("shape", [-128]))


def st_shape_overflow(d):
    write_base(d)  # numel = 2^64 * 128 wraps to 0 in 64-bit arithmetic
    edit_header(d, lambda h: h["model.norm.weight"].__setitem__("shape", [1 << 32, 1 << 32, 128]))


def st_shape_vs_config(d):
    w = [(n, a[:, :-2].copy() if n == "model.layers.1.self_attn.q_proj.weight" else a)
         for n, a in base_weights(BASE4)]
    write_base(d, weights=w)


def st_rank_vs_config(d):
    w = [(n, a.reshape(1, -1) if n == "model.norm.weight" else a) for n, a in base_weights(BASE4)]
    write_base(d, weights=w)


def missing_tensor(d):
    write_base(d, weights=[(n, a) for n, a in base_weights(BASE4) if n != "model.norm.weight"])


def untied_missing_lm_head(d):
    write_base(d, weights=[(n, a) for n, a in base_weights(BASE4) if n != "lm_head.weight"])


def exaone3_missing_tensor(d):
    write_base(d, BASE3, weights=[(n, a) for n, a in base_weights(BASE3) if n != "transformer.h.1.mlp.c_fc_1.weight"])


def cfg_missing_file(d):
    write_base(d)
    os.remove(os.path.join(d, CFG))


def cfg_invalid_json(d):
    write_base(d)
    p = os.path.join(d, CFG)
    s = open(p).read()
    with open(p, "w") as f:
        f.write(s[:len(s) // 2])


def cfg_not_object(d):
    write_base(d)
    with open(os.path.join(d, CFG), "w") as f:
        f.write("[1, 2, 3]\n")


def cfg_set(key, value, variant=BASE4):
    def f(d):
        write_base(d, variant)
        edit_config(d, lambda c: c.__setitem__(key, value))
    return f


def cfg_del(key, variant=BASE4):
    def f(d):
        write_base(d, variant)
        edit_config(d, lambda c: c.pop(key))
    return f


def cfg_no_model_type(d):
    write_base(d)  # without model_type, "architectures" would still identify the family: drop both

    def f(c):
        c.pop("model_type")
        c.pop("architectures")
    edit_config(d, f)


def cfg_contradictory_layers(d):
    write_base(d, BASE3)
    edit_config(d, lambda c: c.__setitem__("num_hidden_layers", c["num_layers"] - 1))


def cfg_layer_types_length(d):
    write_base(d)
    edit_config(d, lambda c: c.__setitem__("layer_types", c["layer_types"][:-1]))


def cfg_layer_types_value(d):
    write_base(d)

    def f(c):
        c["layer_types"][2] = "chunked_attention"
    edit_config(d, f)


def cfg_pattern_zero(d):
    write_base(d, config=mtm.build_config(BASE4, pattern_form="int"))
    edit_config(d, lambda c: c.__setitem__("sliding_window_pattern", 0))


def cfg_pattern_bad_string(d):
    write_base(d, config=mtm.build_config(BASE4, pattern_form="string"))
    edit_config(d, lambda c: c.__setitem__("sliding_window_pattern", "LLXG"))


def cfg_rope_unknown_type(d):
    write_base(d)

    def f(c):
        c["rope_scaling"]["rope_type"] = "yarn"
    edit_config(d, f)


def idx_missing_shard(d):
    write_base(d, shards=3)
    os.remove(os.path.join(d, SHARD % 3))


def idx_wrong_shard(d):
    write_base(d, shards=3)
    p = os.path.join(d, IDX)
    idx = json.load(open(p))
    idx["weight_map"]["model.norm.weight"] = SHARD % 1  # it really lives in shard 3
    mtm.write_json(p, idx)


def idx_invalid_json(d):
    write_base(d, shards=3)
    with open(os.path.join(d, IDX), "w") as f:
        f.write('{"metadata": {"total_size": 12}, "weight_map": {"model.norm.weight": ')


def idx_path_traversal(d):
    write_base(d, shards=3)
    p = os.path.join(d, IDX)
    idx = json.load(open(p))
    for k, v in idx["weight_map"].items():
        if v == SHARD % 3:
            idx["weight_map"][k] = "../" + SHARD % 3
    mtm.write_json(p, idx)
    # put a valid copy where the traversal points, so only refusing the path makes this fail
    shutil.copy(os.path.join(d, SHARD % 3), os.path.join(os.path.dirname(d.rstrip("/")), SHARD % 3))


def shard_header_huge(d):
    write_base(d, shards=3)
    with open(os.path.join(d, SHARD % 2), "r+b") as f:
        f.write(struct.pack("<Q", (1 << 63) + 8))


# name: (builder, files one of which the error must name, words one of which it must contain)
CASES = {
    "st-truncated-data": (st_truncated, [ST], LAYOUT_KW),
    "st-file-shorter-than-length-field": (st_tiny_file, [ST], LAYOUT_KW),
    "st-header-length-past-eof": (st_header_len_past_eof, [ST], LAYOUT_KW),
    "st-header-length-2e60": (st_header_len_huge, [ST], LAYOUT_KW),
    "st-header-length-zero": (st_header_len_zero, [ST], LAYOUT_KW + ["json"]),
    "st-header-invalid-json": (st_header_invalid_json, [ST], LAYOUT_KW + ["json", "parse", "syntax"]),
    "st-header-not-object": (st_header_not_object, [ST], LAYOUT_KW + ["json", "object"]),
    "st-non-utf8-tensor-name": (st_non_utf8_name, [ST], ["utf", "name", "model.norm.weight", "json", "invalid"]),
    "st-offsets-overlap": (st_offsets_overlap, [ST], ["overlap", "offset", "alias"]),
    "st-offsets-out-of-range": (st_offsets_out_of_range, [ST], LAYOUT_KW),
    "st-offsets-2e62": (st_offsets_huge, [ST], LAYOUT_KW),
    "st-offsets-size-mismatch": (st_offsets_size_mismatch, [ST], LAYOUT_KW + ["shape"]),
    "st-offsets-reversed": (st_offsets_reversed, [ST], LAYOUT_KW),
    "st-unknown-dtype": (st_unknown_dtype, [ST], ["dtype", "type", "Q7"]),
    "st-integer-dtype": (st_integer_dtype, [ST], ["dtype", "type", "I32"]),
    "st-negative-shape": (st_negative_shape, [ST], ["shape", "negative", "dim"] + LAYOUT_KW),
    "st-shape-numel-overflow": (st_shape_overflow, [ST], ["shape", "dim"] + LAYOUT_KW),
    "st-shape-vs-config": (st_shape_vs_config, [ST, CFG], ["shape", "q_proj", "dim", "size"]),
    "st-rank-vs-config": (st_rank_vs_config, [ST, CFG], ["shape", "model.norm.weight", "dim", "rank"]),
    "missing-tensor": (missing_tensor, [ST], ["model.norm.weight", "missing"]),
    "untied-missing-lm-head": (untied_missing_lm_head, [ST, CFG], ["lm_head"]),
    "exaone3-missing-tensor": (exaone3_missing_tensor, [ST], ["transformer.h.1.mlp.c_fc_1.weight"]),
    "cfg-missing-file": (cfg_missing_file, [CFG], ["missing", "not found", "no such", "open", "exist", "read"]),
    "cfg-invalid-json": (cfg_invalid_json, [CFG], ["json", "parse", "syntax", "invalid"]),
    "cfg-not-object": (cfg_not_object, [CFG], ["json", "object", "invalid"]),
    "cfg-zero-heads": (cfg_set("num_attention_heads", 0), [CFG], ["num_attention_heads", "head"]),
    "cfg-heads-not-dividing-hidden": (cfg_set("num_attention_heads", 6, BASE3), [CFG], ["hidden_size"]),
    "cfg-kv-heads-not-dividing-heads": (cfg_set("num_key_value_heads", 3), [CFG], ["num_key_value_heads", "head", "divis"]),
    "cfg-unknown-model-type": (cfg_set("model_type", "llama"), [CFG], ["model_type", "llama"]),
    "cfg-missing-model-type-and-architectures": (cfg_no_model_type, [CFG], ["model_type", "architectures"]),
    "cfg-missing-hidden-size": (cfg_del("hidden_size"), [CFG], ["hidden_size"]),
    "cfg-missing-vocab-size": (cfg_del("vocab_size"), [CFG], ["vocab_size"]),
    "cfg-exaone3-missing-num-layers": (cfg_del("num_layers", BASE3), [CFG], ["num_layers", "num_hidden_layers"]),
    "cfg-negative-intermediate-size": (cfg_set("intermediate_size", -256), [CFG], ["intermediate_size"]),
    "cfg-zero-layers": (cfg_set("num_hidden_layers", 0), [CFG], ["num_hidden_layers", "layer"]),
    "cfg-string-hidden-size": (cfg_set("hidden_size", "128"), [CFG], ["hidden_size"]),
    "cfg-hidden-size-2e40": (cfg_set("hidden_size", 1 << 40), [CFG, ST], ["hidden_size", "shape", "size", "large"]),
    "cfg-vocab-size-2e35": (cfg_set("vocab_size", 1 << 35), [CFG, ST], ["vocab_size", "shape", "size", "large"]),
    "cfg-contradictory-num-layers": (cfg_contradictory_layers, [CFG], ["num_layers", "num_hidden_layers"]),
    "cfg-layer-types-too-short": (cfg_layer_types_length, [CFG], ["layer_types"]),
    "cfg-layer-types-bad-value": (cfg_layer_types_value, [CFG], ["layer_types", "chunked_attention"]),
    "cfg-sliding-window-pattern-zero": (cfg_pattern_zero, [CFG], ["sliding_window_pattern", "pattern"]),
    "cfg-sliding-window-pattern-bad-string": (cfg_pattern_bad_string, [CFG], ["sliding_window_pattern", "pattern", "LLXG"]),
    "cfg-negative-sliding-window": (cfg_set("sliding_window", -8), [CFG], ["sliding_window"]),
    "cfg-rope-type-unknown": (cfg_rope_unknown_type, [CFG], ["rope", "yarn"]),
    "cfg-activation-gelu": (cfg_set("hidden_act", "gelu"), [CFG], ["hidden_act", "gelu", "activation"]),
    "idx-missing-shard": (idx_missing_shard, [SHARD % 3, IDX], [SHARD % 3, "missing", "no such", "open", "exist"]),
    "idx-tensor-in-wrong-shard": (idx_wrong_shard, [SHARD % 1, SHARD % 3, IDX], ["model.norm.weight"]),
    "idx-invalid-json": (idx_invalid_json, [IDX], ["json", "parse", "syntax", "invalid"]),
    "idx-path-traversal": (idx_path_traversal, [IDX, SHARD % 3], ["path", "..", "invalid", "outside", "name"]),
    "shard-header-length-huge": (shard_header_huge, [SHARD % 2], LAYOUT_KW),
}

GOOD = {
    "good-exaone": lambda d: write_base(d, BASE3),
    "good-exaone4-sharded": lambda d: write_base(d, BASE4, shards=3),
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="output folder")
    ap.add_argument("--list", action="store_true", help="print the case names (';'-separated) and exit")
    a = ap.parse_args(argv)
    if a.list:
        print(";".join(list(GOOD) + list(CASES)))
        return 0
    if not a.out:
        ap.error("--out is required")
    os.makedirs(a.out, exist_ok=True)
    manifest = {}
    for name, build in GOOD.items():
        d = os.path.join(a.out, name)
        shutil.rmtree(d, ignore_errors=True)
        build(d)
        manifest[name] = {"good": True}
    for name, (build, files, words) in CASES.items():
        d = os.path.join(a.out, name)
        shutil.rmtree(d, ignore_errors=True)
        build(d)
        manifest[name] = {"good": False, "files": files, "words": words}
    mtm.write_json(os.path.join(a.out, "manifest.json"), manifest)
    print("wrote %d bad and %d good model folders to %s" % (len(CASES), len(GOOD), a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
