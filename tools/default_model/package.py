#!/usr/bin/env python3
"""package.py — turns a training checkpoint folder (f32 model.safetensors + trainer state) into the
shipped model folder: weights rounded to bf16 (round to nearest even), config.json with
torch_dtype bfloat16, generation_config.json and the tokenizer files; the trainer state is left out.

usage: package.py CHECKPOINT_DIR OUT_DIR
"""
import json, os, shutil, struct, sys
import numpy as np

def read_st(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        assert v["dtype"] in ("F32", "BF16"), v["dtype"]
        if v["dtype"] == "F32":
            a = np.frombuffer(data[b:e], dtype="<f4").reshape(v["shape"])
        else:
            a = (np.frombuffer(data[b:e], dtype="<u2").astype(np.uint32) << 16).view(np.float32).reshape(v["shape"])
        out[k] = a
    return out

def to_bf16(a):
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)  # round to nearest even (no NaNs here)
    return r

def write_st(path, tensors):
    hdr, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for k in sorted(tensors):
        b = to_bf16(tensors[k]).tobytes()
        hdr[k] = {"dtype": "BF16", "shape": list(tensors[k].shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    os.replace(tmp, path)

def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1:]
    os.makedirs(dst, exist_ok=True)
    t = read_st(os.path.join(src, "model.safetensors"))
    assert all(np.isfinite(v).all() for v in t.values()), "non-finite weights"
    write_st(os.path.join(dst, "model.safetensors"), t)
    cfg = json.load(open(os.path.join(src, "config.json")))
    cfg["torch_dtype"] = "bfloat16"
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
        f.write("\n")
    for name in ("generation_config.json", "tokenizer.json", "tokenizer_config.json"):
        if os.path.exists(os.path.join(src, name)):
            shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))
    n = sum(v.size for v in t.values())
    print(f"{src} -> {dst}: {len(t)} tensors, {n} parameters, {os.path.getsize(os.path.join(dst, 'model.safetensors')) / 1e6:.1f} MB bf16")

if __name__ == "__main__":
    main()
