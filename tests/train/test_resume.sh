#!/bin/sh
# test_resume.sh — checkpoint/resume must be bit-exact: (1) 8 steps straight vs 5 steps, stop,
# resume from the step-4 checkpoint to 8; (2) a longer run killed with SIGKILL right after its
# first checkpoint, then resumed, vs the same run uninterrupted. Compares model.safetensors and
# trainer_state.safetensors byte for byte; checks loss.csv rows, loss.png and the HF folder.
# usage: test_resume.sh EXAONE_BIN PYTHON TESTS_TRAIN_DIR [TOKENIZER_DIR]
set -eu
EXA=$1; PY=$2; SRC=$3; TOK=${4:-}
D=$(mktemp -d /tmp/exa_resume_XXXXXX)
trap 'rm -rf "$D"' EXIT
mkdir -p "$D/data"
"$PY" - "$D" "$SRC/tiny4.json" <<'PYEOF'
import json, random, struct, sys
d = sys.argv[1]
random.seed(5)
def shard(path, toks, u16):
    hdr = [20240520, 1, len(toks)] if u16 else [20240801, 7, len(toks)]
    with open(path, "wb") as f:
        f.write(struct.pack("<256i", *(hdr + [0] * 253)))
        f.write(struct.pack("<%d%s" % (len(toks), "H" if u16 else "I"), *toks))
def text(n):  # a noisy deterministic "language": next token mostly (3*t+1) mod 64
    t, out = 1, []
    for _ in range(n):
        out.append(t)
        t = (3 * t + 1) % 64 if random.random() < 0.8 else random.randrange(64)
    return out
shard(d + "/data/toy_train_000.bin", text(3000), False)
shard(d + "/data/toy_train_001.bin", text(2000), True)
shard(d + "/data/toy_val_000.bin", text(600), True)
c = json.load(open(sys.argv[2]))
json.dump(c, open(d + "/short.json", "w"))
c["train"].update(total_steps=300, checkpoint_interval=20, eval_interval=50, keep_checkpoints=2)
json.dump(c, open(d + "/long.json", "w"))
c = json.load(open(sys.argv[2])); c["train"].update(save_dtype="bfloat16")
json.dump(c, open(d + "/bf16.json", "w"))
c = json.load(open(sys.argv[2])); c["train"].update(batch_size=1, grad_accum=2, total_steps=3)
json.dump(c, open(d + "/acc2.json", "w"))
c["train"].update(batch_size=2, grad_accum=1)
json.dump(c, open(d + "/acc1.json", "w"))
t = json.load(open(sys.argv[2]))["train"]; t.update(lr=5e-3, lora={"r": 4, "alpha": 8})
json.dump({"train": t}, open(d + "/lora.json", "w"))
PYEOF
# (1) stop + resume
if [ -n "$TOK" ] && [ -d "$TOK" ]; then
  "$EXA" train --config "$D/short.json" --data "$D/data" --out "$D/a" --threads 2 --quiet --tokenizer "$TOK"
  for f in tokenizer_config.json special_tokens_map.json vocab.json merges.txt chat_template.jinja; do
    if [ -f "$TOK/$f" ]; then cmp "$TOK/$f" "$D/a/step-00000008/$f"; fi
  done
else
  "$EXA" train --config "$D/short.json" --data "$D/data" --out "$D/a" --threads 2 --quiet
fi
"$EXA" train --config "$D/short.json" --data "$D/data" --out "$D/b" --threads 1 --quiet --stop-after 5
test "$(cat "$D/b/latest")" = step-00000004
"$EXA" train --config "$D/short.json" --data "$D/data" --out "$D/b" --threads 2 --quiet --resume
for f in model.safetensors trainer_state.safetensors config.json generation_config.json; do  # tokenizer files only in a
  cmp "$D/a/step-00000008/$f" "$D/b/step-00000008/$f"
done
test "$(wc -l < "$D/b/loss.csv")" -eq 9
cmp "$D/a/loss.png" "$D/b/loss.png" || true  # elapsed time differs; plot content should match
# (1b) BF16 checkpoints resume bit-exactly too (f32 master weights live in trainer_state)
"$EXA" train --config "$D/bf16.json" --data "$D/data" --out "$D/h1" --threads 2 --quiet
"$EXA" train --config "$D/bf16.json" --data "$D/data" --out "$D/h2" --threads 2 --quiet --stop-after 5
"$EXA" train --config "$D/bf16.json" --data "$D/data" --out "$D/h2" --threads 2 --quiet --resume
cmp "$D/h1/step-00000008/model.safetensors" "$D/h2/step-00000008/model.safetensors"
cmp "$D/h1/step-00000008/trainer_state.safetensors" "$D/h2/step-00000008/trainer_state.safetensors"
# (1c) gradient accumulation: batch 1 x accum 2 sees the same rows as batch 2 x accum 1
"$EXA" train --config "$D/acc1.json" --data "$D/data" --out "$D/g1" --threads 2 --quiet
"$EXA" train --config "$D/acc2.json" --data "$D/data" --out "$D/g2" --threads 2 --quiet
"$PY" - "$D" <<'PYEOF'
import json, struct, sys
import numpy as np
def load(p):
    raw = open(p, "rb").read(); n = struct.unpack("<Q", raw[:8])[0]; h = json.loads(raw[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == "__metadata__": continue
        a, b = v["data_offsets"]
        dt = np.float32 if v["dtype"] == "F32" else np.uint16
        out[k] = (v["dtype"], np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dt))
    return out
d = sys.argv[1]
a = load(d + "/g1/step-00000003/model.safetensors"); b = load(d + "/g2/step-00000003/model.safetensors")
worst = max(float(np.abs(a[k][1] - b[k][1]).max()) for k in a)
print("grad accumulation: max weight difference after 3 steps %.2e" % worst)
assert worst < 1e-4
h = load(d + "/h1/step-00000008/model.safetensors")
assert all(v[0] == "BF16" for v in h.values())
assert json.load(open(d + "/h1/step-00000008/config.json"))["torch_dtype"] == "bfloat16"
PYEOF
# (2) SIGKILL mid-run
"$EXA" train --config "$D/long.json" --data "$D/data" --out "$D/c" --threads 2 --quiet
"$EXA" train --config "$D/long.json" --data "$D/data" --out "$D/k" --threads 2 --quiet &
pid=$!
i=0
while [ ! -f "$D/k/latest" ] && [ $i -lt 600 ]; do sleep 0.01; i=$((i+1)); done
kill -9 $pid 2>/dev/null || echo "note: run finished before SIGKILL"
wait $pid 2>/dev/null || true
echo "killed at checkpoint $(cat "$D/k/latest")"
"$EXA" train --config "$D/long.json" --data "$D/data" --out "$D/k" --threads 2 --quiet --resume
cmp "$D/c/step-00000300/model.safetensors" "$D/k/step-00000300/model.safetensors"
cmp "$D/c/step-00000300/trainer_state.safetensors" "$D/k/step-00000300/trainer_state.safetensors"
test "$(wc -l < "$D/k/loss.csv")" -eq 301
test "$(ls -d "$D"/c/step-* | wc -l)" -eq 2  # keep_checkpoints
ls "$D"/k/.tmp-* >/dev/null 2>&1 && { echo "FAIL: temp checkpoint left behind"; exit 1; } || true
# the HF folder and the plot are well-formed
"$PY" - "$D/c" <<'PYEOF'
import json, struct, sys, zlib
d = sys.argv[1]
ck = d + "/" + open(d + "/latest").read().strip()
cfg = json.load(open(ck + "/config.json"))
assert cfg["model_type"] == "exaone4" and cfg["architectures"] == ["Exaone4ForCausalLM"], cfg
assert json.load(open(ck + "/generation_config.json")) == {"bos_token_id": 1, "eos_token_id": 361, "pad_token_id": 0}
raw = open(ck + "/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
names = set(json.loads(raw[8:8 + n])) - {"__metadata__"}
assert "lm_head.weight" not in names and "model.embed_tokens.weight" in names and len(names) == 24, names
png = open(d + "/loss.png", "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n"
idat = png[8 + 25 + 8: -12]
w, h = struct.unpack(">II", png[16:24])
assert len(zlib.decompress(idat[:-4])) == h * (3 * w + 1)
rows = open(d + "/loss.csv").read().splitlines()
first, last = float(rows[1].split(",")[2]), float(rows[-1].split(",")[2])
print("loss %.3f -> %.3f, val %s" % (first, last, rows[-1].split(",")[3]))
assert last < first - 0.5
PYEOF
# (3) LoRA fine-tuning of the trained model: stop + resume bit-exact; PEFT folder; merged model
B="$D/c/step-00000300"
"$EXA" train --config "$D/lora.json" --base "$B" --data "$D/data" --out "$D/l1" --threads 2 --quiet
"$EXA" train --config "$D/lora.json" --base "$B" --data "$D/data" --out "$D/l2" --threads 1 --quiet --stop-after 5
if "$EXA" train --config "$D/lora.json" --data "$D/data" --out "$D/l2" --quiet --resume 2>/dev/null; then echo "FAIL: resume without --base accepted"; exit 1; fi
"$EXA" train --config "$D/lora.json" --base "$B" --data "$D/data" --out "$D/l2" --threads 2 --quiet --resume
for f in adapter_model.safetensors trainer_state.safetensors adapter_config.json merged/model.safetensors; do
  cmp "$D/l1/step-00000008/$f" "$D/l2/step-00000008/$f"
done
"$PY" - "$D" <<'PYEOF'
import json, struct, sys
import numpy as np
def load(p):
    raw = open(p, "rb").read(); n = struct.unpack("<Q", raw[:8])[0]; h = json.loads(raw[8:8 + n])
    return {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], dtype=np.float32).reshape(v["shape"])
            for k, v in h.items() if k != "__metadata__"}
d = sys.argv[1]
ck = d + "/l1/step-00000008"
cfg = json.load(open(ck + "/adapter_config.json"))
assert cfg["peft_type"] == "LORA" and cfg["r"] == 4 and cfg["lora_alpha"] == 8 and len(cfg["target_modules"]) == 7, cfg
ad = load(ck + "/adapter_model.safetensors")
base = load(d + "/c/step-00000300/model.safetensors")
merged = load(ck + "/merged/model.safetensors")
assert len(ad) == 2 * 7 * 2, sorted(ad)
worst = 0.0
for k, w in base.items():
    mod = "base_model.model." + k[:-len(".weight")]
    exp = w + (2.0 * ad[mod + ".lora_B.weight"] @ ad[mod + ".lora_A.weight"] if mod + ".lora_A.weight" in ad else 0)
    worst = max(worst, float(np.abs(merged[k] - exp).max()))
assert worst < 1e-5, worst
assert np.abs(ad["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"]).max() > 0
rows = open(d + "/l1/loss.csv").read().splitlines()
print("lora: merged = base + 2*B@A (max err %.1e); loss %s -> %s" % (worst, rows[1].split(",")[2], rows[-1].split(",")[2]))
PYEOF
echo PASS
