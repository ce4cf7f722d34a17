#!/bin/bash
# train_test.sh — tokenizer trainer tests against Hugging Face `tokenizers` (npm):
#  1. plain mode (no added tokens, alphabet from data, min_frequency 0, vocab 30000) on ~600 KB of
#     Korean + English: vocabulary and the whole merge list must equal HF BpeTrainer's;
#  2. EXAONE mode (added tokens, Digits and GPT-2 variants): HF loads our tokenizer.json and
#     encodes held-out text (and the edge-case corpus) to exactly our ids.
# usage: train_test.sh EXAONE_CLI TOK_DUMP SHARED_DATA NODE_DIR WORK_DIR
set -euo pipefail
cli=$1 dump=$2 data=$3 node_dir=$4 work=$5
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null || [ ! -d "$node_dir/node_modules/@anush008/tokenizers" ]; then
    echo "SKIP: node or tests/node/node_modules missing (run: cd tests/node && npm ci)"; exit 77
fi
rm -rf "$work"; mkdir -p "$work"
head -c 300000 "$data/gutenberg_en/pg1342.txt" > "$work/train.txt"
head -c 300000 "$data/koconovel/koconovel_plain.txt" >> "$work/train.txt"
fail=0
# 1. exact merges vs HF BpeTrainer
"$cli" tokenizer-train --quiet --vocab-size 30000 --min-frequency 0 --no-added-tokens --no-initial-alphabet \
    --out "$work/plain" "$work/train.txt"
(cd "$node_dir" && node hf_train.js "$work/train.txt" "$work/hf_plain.json")
if /usr/bin/python3 - "$work/hf_plain.json" "$work/plain/tokenizer.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))['model']; b = json.load(open(sys.argv[2]))['model']
ma = [' '.join(m) if isinstance(m, list) else m for m in a['merges']]
ok = a['vocab'] == b['vocab'] and ma == b['merges']
print('trainer vs HF BpeTrainer: %d tokens, %d merges, %s' % (len(b['vocab']), len(b['merges']), 'identical' if ok else 'DIFFERENT'))
if not ok:
    for i, (x, y) in enumerate(zip(ma, b['merges'])):
        if x != y: print('first differing merge', i, repr(x), repr(y)); break
sys.exit(0 if ok else 1)
PY
then :; else fail=1; fi
# 2. EXAONE-style tokenizers: HF encodes held-out text identically
tail -c 400000 "$data/gutenberg_en/pg2701.txt" > "$work/heldout.txt"
tail -c 400000 "$data/koconovel/koconovel_plain.txt" >> "$work/heldout.txt"
/usr/bin/python3 "$here/make_parity_corpus.py" "$data" "$work/corpus.bin" 0.3 > /dev/null
/usr/bin/python3 -c "
import sys; d=open(sys.argv[1],'rb').read(); o=open(sys.argv[2],'ab'); o.write(b'%d\n'%len(d)); o.write(d)" "$work/heldout.txt" "$work/corpus.bin"
for mode in gpt2 digits; do
    flag=""; [ $mode = digits ] && flag=--digits
    "$cli" tokenizer-train --quiet --vocab-size 6000 $flag --out "$work/$mode" "$work/train.txt"
    "$dump" "$work/$mode/tokenizer.json" "$work/corpus.bin" "$work/ours-$mode.txt" > "$work/ours-$mode.log"
    (cd "$node_dir" && node hf_encode.js "$work/$mode/tokenizer.json" "$work/corpus.bin" "$work/hf-$mode.txt")
    if cmp -s "$work/hf-$mode.txt" "$work/ours-$mode.txt"; then
        echo "trained ($mode, 6000 tokens): HF encodes $(wc -l < "$work/hf-$mode.txt") held-out records / $(wc -w < "$work/hf-$mode.txt") tokens identically"
    else
        echo "trained ($mode): HF ids differ"; diff "$work/hf-$mode.txt" "$work/ours-$mode.txt" | head -4 | cut -c1-200; fail=1
    fi
done
# 3. .xz input gives the same tokenizer as the plain file
xz -c "$work/train.txt" > "$work/train.txt.xz"
"$cli" tokenizer-train --quiet --vocab-size 6000 --out "$work/xz" "$work/train.txt.xz"
if cmp -s "$work/xz/tokenizer.json" "$work/gpt2/tokenizer.json"; then echo "trained from .xz: identical tokenizer.json"
else echo "trained from .xz: tokenizer.json differs"; fail=1; fi
[ $fail = 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $fail
