#!/bin/sh
# test_finetune.sh — `exaone finetune --lora` end to end on a tiny random EXAONE-4.0 model with
# the real EXAONE tokenizer and chat template: 50 ChatbotData Q/A pairs converted to chat JSONL,
# 20 LoRA steps (the assistant-token loss must drop; validation loss on 30 held-out lines), stop + --resume bit-exact, PEFT adapter
# layout, `generate/logits --lora` equal to the `lora merge` output (same greedy tokens, logits
# within 1e-4; also on a BF16 base, whose merged file stays BF16), and corrupt adapters refused
# with a one-line error. usage: test_finetune.sh EXAONE_BIN PYTHON SHARED_DIR
set -eu
EXA=$1; PY=$2; SH=$3
TOK=$SH/data/exaone-tokenizer/exaone-4.0
CSV=$SH/data/chatbot_data_ko/ChatbotData.csv
if [ ! -f "$CSV" ] || [ ! -f "$TOK/vocab.json" ]; then echo "skip: shared data missing"; exit 77; fi
D=$(mktemp -d /tmp/exa_finetune_XXXXXX)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
"$EXA" random-model --shape tiny-exaone4 --vocab 102400 --tokenizer "$TOK" --dtype f32 --seed 3 --out "$D/base" >/dev/null 2>&1
"$EXA" random-model --shape tiny-exaone4 --vocab 102400 --tokenizer "$TOK" --dtype bf16 --seed 3 --out "$D/base16" >/dev/null 2>&1
# the converter: ChatbotData.csv (Q,A,label) -> {"messages": [user Q, assistant A]} per line
"$PY" - "$CSV" "$D" <<'PYEOF'
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8")))
for name, part in (("chat", rows[1:51]), ("val", rows[1000:1030])):
    with open(sys.argv[2] + "/" + name + ".jsonl", "w", encoding="utf-8") as f:
        for q, a, _ in part:
            f.write(json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}, ensure_ascii=False) + "\n")
PYEOF
FT="--lora --base $D/base --data $D/chat.jsonl --steps 20 --batch 4 --seq 64 --lr 2e-2 --warmup 2 --r 8 --alpha 16 --threads 2"
"$EXA" finetune $FT --val "$D/val.jsonl" --out "$D/run" 2>"$D/ft.log" || { cat "$D/ft.log"; fail "finetune"; }
grep -q "50 conversations" "$D/ft.log" && grep -q "30 validation conversations" "$D/ft.log" || { cat "$D/ft.log"; fail "data summary"; }
# stop after 10 steps, resume: identical adapter and optimizer state
"$EXA" finetune $FT --out "$D/run2" --stop-after 10 --quiet 2>/dev/null
[ ! -e "$D/run2/latest" ] || fail "no checkpoint expected before the last step"
F2="--lora --base $D/base --data $D/chat.jsonl --steps 20 --batch 4 --seq 64 --lr 2e-2 --warmup 2 --threads 1 --quiet"
"$EXA" finetune $F2 --out "$D/run4" --config /dev/null 2>/dev/null && fail "a non-JSON --config was accepted" || true
printf '{"train": {"checkpoint_interval": 10}}' > "$D/ft.json"
"$EXA" finetune $FT --config "$D/ft.json" --out "$D/runr" --stop-after 10 --quiet 2>/dev/null
"$EXA" finetune $F2 --config "$D/ft.json" --out "$D/runr" --resume 2>/dev/null
"$EXA" finetune $FT --config "$D/ft.json" --out "$D/runs" --quiet 2>/dev/null
cmp "$D/runr/step-00000020/adapter_model.safetensors" "$D/runs/step-00000020/adapter_model.safetensors" || fail "resumed adapter differs"
cmp "$D/runr/step-00000020/trainer_state.safetensors" "$D/runs/step-00000020/trainer_state.safetensors" || fail "resumed optimizer state differs"
cmp "$D/runs/step-00000020/adapter_model.safetensors" "$D/run/step-00000020/adapter_model.safetensors" || fail "checkpoint interval or validation changed the result"
A=$D/run/step-00000020
"$EXA" lora merge --base "$D/base" --lora "$D/run" --out "$D/merged" 2>/dev/null || fail "lora merge"
"$EXA" lora merge --base "$D/base16" --lora "$A" --out "$D/merged16" 2>/dev/null || fail "lora merge bf16"
IDS=$("$EXA" tokenize -m "$D/base" -p "[|user|]12시 땡![|endofturn|]" | tr -s ' \n' ',,' | sed 's/,$//')
for pair in "base run merged" "base16 run merged16"; do
    set -- $pair
    "$EXA" generate -m "$D/$1" --lora "$D/$2" -p "안녕하세요" -n 12 --temp 0 2>/dev/null >"$D/g1.txt" || fail "generate --lora"
    "$EXA" generate -m "$D/$3" -p "안녕하세요" -n 12 --temp 0 2>/dev/null >"$D/g2.txt" || fail "generate merged"
    cmp "$D/g1.txt" "$D/g2.txt" || fail "$1: generate --lora and the merged model differ: $(cat $D/g1.txt) / $(cat $D/g2.txt)"
    "$EXA" logits -m "$D/$1" --lora "$D/$2" --tokens "$IDS" --out "$D/l1.bin" 2>/dev/null || fail "logits --lora"
    "$EXA" logits -m "$D/$3" --tokens "$IDS" --out "$D/l2.bin" 2>/dev/null || fail "logits merged"
    "$EXA" logits -m "$D/$1" --tokens "$IDS" --out "$D/l0.bin" 2>/dev/null || fail "logits base"
    "$PY" - "$D" "$1" <<'PYEOF' || fail "logits"
import numpy as np, sys
d = sys.argv[1]
a, b, c = (np.fromfile(d + "/l%d.bin" % i, dtype="<f4") for i in (1, 2, 0))
diff, eff = float(np.abs(a - b).max()), float(np.abs(a - c).max())
print("%s: --lora vs merged max |dlogit| %.3g; adapter effect vs base %.3g" % (sys.argv[2], diff, eff))
sys.exit(0 if a.size == b.size and diff <= 1e-4 and eff > 1e-3 else 1)
PYEOF
done
# --lora is merged before --quant conversion
"$EXA" generate -m "$D/base" --lora "$D/run" --quant q8 -p "안녕하세요" -n 8 --temp 0 2>/dev/null >"$D/g1.txt" || fail "generate --lora --quant"
"$EXA" generate -m "$D/merged" --quant q8 -p "안녕하세요" -n 8 --temp 0 2>/dev/null >"$D/g2.txt" || fail "generate merged --quant"
cmp "$D/g1.txt" "$D/g2.txt" || fail "--lora --quant q8 differs from the quantized merged model"
# the trainer's own merged/ folder has the same weights; PEFT layout; loss on assistant tokens dropped
"$PY" - "$D" "$A" <<'PYEOF' || fail "adapter layout / loss"
import json, struct, sys, re
import numpy as np
d, a = sys.argv[1], sys.argv[2]
def load(p):
    raw = open(p, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    h = json.loads(raw[8:8 + n]); h.pop("__metadata__", None)
    return {k: (v, raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]) for k, v in h.items()}
c = json.load(open(a + "/adapter_config.json"))
assert c["peft_type"] == "LORA" and c["r"] == 8 and c["lora_alpha"] == 16 and len(c["target_modules"]) == 7, c
h = load(a + "/adapter_model.safetensors")
pat = re.compile(r"^base_model\.model\.model\.layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)\.lora_[AB]\.weight$")
assert len(h) == 4 * 7 * 2 and all(pat.match(k) for k in h), sorted(h)[:3]
assert all(v["dtype"] == "BF16" for v, _ in load(d + "/merged16/model.safetensors").values()), "merged bf16 base is not BF16"
m1, m2 = load(d + "/merged/model.safetensors"), load(a + "/merged/model.safetensors")
assert sorted(m1) == sorted(m2)
wd = max(float(np.abs(np.frombuffer(m1[k][1], "<f4") - np.frombuffer(m2[k][1], "<f4")).max()) for k in m1)
rows = [l.split(",") for l in open(d + "/run/loss.csv").read().split("\n")[1:] if l]
loss = [float(r[2]) for r in rows]
first, last = sum(loss[:3]) / 3, sum(loss[-5:]) / 5
print("assistant-token loss: first 3 steps %.4f -> last 5 steps %.4f; lora merge vs the trainer's merged/ max |dW| %.3g" % (first, last, wd))
assert len(loss) == 20 and last < first - 0.1, loss
val = [float(r[3]) for r in rows if r[3]]
print("validation loss (30 held-out conversations): %s" % " ".join("%.3f" % v for v in val))
assert len(val) == 10 and all(v == v and 0 < v < 12 for v in val), val
assert wd <= 1e-6
PYEOF
# full fine-tuning (no --lora) on the same data writes a loadable HF model folder
"$EXA" finetune --base "$D/base" --data "$D/chat.jsonl" --out "$D/full" --steps 3 --batch 2 --seq 64 --lr 1e-3 --threads 2 --quiet 2>/dev/null || fail "full finetune"
"$EXA" generate -m "$D/full/step-00000003" -p "안녕" -n 2 --temp 0 >/dev/null 2>&1 || fail "full finetune output does not load"
[ ! -e "$D/full/step-00000003/adapter_config.json" ] || fail "full finetune wrote an adapter"
# hostile / wrong adapters: non-zero exit and exactly one line naming the problem
bad() { # name, then a python snippet editing $D/bad (a copy of the adapter)
    rm -rf "$D/bad"; cp -r "$A" "$D/bad"
    "$PY" -c "import sys,json,struct; d=sys.argv[1]; $2" "$D/bad"
    if "$EXA" generate -m "$D/base" --lora "$D/bad" -p x -n 1 >/dev/null 2>"$D/err.txt"; then fail "$1: corrupt adapter accepted"; fi
    [ "$(wc -l <"$D/err.txt")" -eq 1 ] || { cat "$D/err.txt"; fail "$1: expected a one-line error"; }
    grep -q "$3" "$D/err.txt" || { cat "$D/err.txt"; fail "$1: error does not mention '$3'"; }
    echo "$1: $(cat "$D/err.txt")"
}
bad truncated "p=d+'/adapter_model.safetensors'; b=open(p,'rb').read(); open(p,'wb').write(b[:len(b)//2])" adapter_model.safetensors
bad header "p=d+'/adapter_model.safetensors'; b=bytearray(open(p,'rb').read()); b[0:8]=struct.pack('<Q',1<<40); open(p,'wb').write(b)" adapter_model.safetensors
bad rank "p=d+'/adapter_config.json'; c=json.load(open(p)); c['r']=4; json.dump(c,open(p,'w'))" "r = 4"
bad alpha "p=d+'/adapter_config.json'; c=json.load(open(p)); c['lora_alpha']='x'; json.dump(c,open(p,'w'))" lora_alpha
bad config "open(d+'/adapter_config.json','w').write('{')" adapter_config.json
bad layer "p=d+'/adapter_model.safetensors'; b=open(p,'rb').read(); b=b.replace(b'layers.3.mlp.down_proj',b'layers.9.mlp.down_proj'); open(p,'wb').write(b)" "layers.9"
"$EXA" generate -m "$D/base" --lora "$D/nonexistent" -p x -n 1 >/dev/null 2>"$D/err.txt" && fail "missing adapter accepted"
[ "$(wc -l <"$D/err.txt")" -eq 1 ] || fail "missing adapter: not one line"
echo "ok"
