#!/bin/sh
# test_pipeline.sh — the whole from-scratch path with the project's own tools: train a BPE
# tokenizer on tinyshakespeare, `exaone data prepare` shards, `exaone train` a tiny exaone4
# model (loss must fall, validation runs, tokenizer copied), then `exaone generate` loads the
# checkpoint folder and produces text.
# usage: test_pipeline.sh EXAONE_BIN SHARED_DIR
set -eu
EXA=$1; SH=$2
TXT="$SH/data/tinyshakespeare/input.txt"
[ -f "$TXT" ] || { echo "SKIP: $TXT missing"; exit 0; }
D=$(mktemp -d /tmp/exa_pipeline_XXXXXX)
trap 'rm -rf "$D"' EXIT
"$EXA" tokenizer-train --vocab-size 512 --out "$D/tok" --quiet "$TXT"
"$EXA" data prepare --tokenizer "$D/tok" --out "$D/data" --name shk --val-fraction 0.05 --doc-bytes 2048 "$TXT" 2>/dev/null
cat > "$D/c.json" <<'JSON'
{"model_type": "exaone4", "vocab_size": 512, "hidden_size": 64, "num_hidden_layers": 2,
 "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 128,
 "max_position_embeddings": 256, "tie_word_embeddings": true,
 "train": {"batch_size": 4, "seq_len": 64, "lr": 5e-3, "min_lr": 5e-4, "warmup_steps": 5, "total_steps": 40,
           "eval_interval": 20, "eval_batches": 2, "checkpoint_interval": 20}}
JSON
"$EXA" train --config "$D/c.json" --data "$D/data" --out "$D/run" --tokenizer "$D/tok" --threads 2 --quiet
CK="$D/run/$(cat "$D/run/latest")"
test "$CK" = "$D/run/step-00000040"
cmp "$D/tok/tokenizer.json" "$CK/tokenizer.json"
first=$(sed -n 2p "$D/run/loss.csv" | cut -d, -f3)
last=$(tail -n 1 "$D/run/loss.csv" | cut -d, -f3)
val=$(tail -n 1 "$D/run/loss.csv" | cut -d, -f4)
echo "loss $first -> $last, val $val"
awk -v a="$first" -v b="$last" -v v="$val" 'BEGIN { exit !(b < a - 1.0 && v != "" && v < a) }'
out=$("$EXA" generate -m "$CK" -p "ROMEO:" -n 8 2>/dev/null)
echo "generated: $out"
test -n "$out"
echo PASS
