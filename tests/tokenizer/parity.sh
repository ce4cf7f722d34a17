#!/bin/bash
# parity.sh — tokenizer parity test: our ids vs Hugging Face `tokenizers` (npm) on the same corpus
# for the EXAONE 4.0 and 3.5 tokenizer.json files; every record must give identical ids.
# usage: parity.sh TOK_DUMP SHARED_DATA NODE_DIR WORK_DIR
set -euo pipefail
dump=$1 data=$2 node_dir=$3 work=$4
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null || [ ! -d "$node_dir/node_modules/@anush008/tokenizers" ]; then
    echo "SKIP: node or tests/node/node_modules missing (run: cd tests/node && npm ci)"; exit 77
fi
mkdir -p "$work"
# 4.0: 2.6 MB of real text per language + edge cases; 3.5 (differs only by the Digits step): 0.6 MB each
/usr/bin/python3 "$here/make_parity_corpus.py" "$data" "$work/corpus-exaone-4.0.bin" 2.6
/usr/bin/python3 "$here/make_parity_corpus.py" "$data" "$work/corpus-exaone-3.5.bin" 0.6
fail=0
for v in exaone-4.0 exaone-3.5; do
    tj="$data/exaone-tokenizer/$v/reconstructed/tokenizer.json"
    t0=$(date +%s.%N)
    (cd "$node_dir" && node hf_encode.js "$tj" "$work/corpus-$v.bin" "$work/hf-$v.txt")
    t1=$(date +%s.%N)
    "$dump" "$tj" "$work/corpus-$v.bin" "$work/ours-$v.txt" | sed "s/^/$v ours: /"
    echo "$v HF tokenizers: $(echo "$t1 - $t0" | bc) s (2 threads, incl. node start-up)"
    if cmp -s "$work/hf-$v.txt" "$work/ours-$v.txt"; then
        echo "$v: $(wc -l < "$work/hf-$v.txt") records, $(wc -w < "$work/hf-$v.txt") tokens identical, 0 mismatches"
    else
        n=$(diff <(cat "$work/hf-$v.txt") <(cat "$work/ours-$v.txt") | grep -c '^<' || true)
        echo "$v: $n records differ; first:"
        diff "$work/hf-$v.txt" "$work/ours-$v.txt" | head -4 | cut -c1-300
        fail=1
    fi
done
# every AddedToken flag (lstrip, rstrip, single_word, normalized) on a variant of the 4.0 tokenizer
/usr/bin/python3 "$here/make_flags_case.py" "$data/exaone-tokenizer/exaone-4.0/reconstructed/tokenizer.json" \
    "$work/flags.json" "$work/flags.bin"
(cd "$node_dir" && node hf_encode.js "$work/flags.json" "$work/flags.bin" "$work/hf-flags.txt")
"$dump" "$work/flags.json" "$work/flags.bin" "$work/ours-flags.txt" > /dev/null || true
if cmp -s "$work/hf-flags.txt" "$work/ours-flags.txt"; then
    echo "added-token flags: $(wc -l < "$work/hf-flags.txt") records identical"
else
    echo "added-token flags: $(diff "$work/hf-flags.txt" "$work/ours-flags.txt" | grep -c '^<') records differ"; fail=1
fi
# the character class tables must still be what this HF build uses, for every code point
if (cd "$node_dir" && node gen_unicode_tables.js) | cmp -s - "$here/../../src/tokenizer/unicode_tables.c"; then
    echo "unicode_tables.c: all 1,112,064 code points classified as HF tokenizers does"
else
    echo "unicode_tables.c differs from what HF tokenizers measures (regenerate: node tests/node/gen_unicode_tables.js)"; fail=1
fi
[ $fail = 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $fail
