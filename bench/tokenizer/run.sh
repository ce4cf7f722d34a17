#!/bin/bash
# run.sh — encode throughput, single thread, ours vs Hugging Face `tokenizers` (npm, Rust core,
# RAYON_NUM_THREADS=1) on the same Korean and English text in the same run; prints a table.
# usage: bench/tokenizer/run.sh [BUILD_DIR] [MB]     (from the repository root)
set -euo pipefail
build=${1:-build} mb=${2:-4}
root=$(cd "$(dirname "$0")/../.." && pwd)
data="$root/../shared/data" tj="$data/exaone-tokenizer/exaone-4.0/reconstructed/tokenizer.json"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bytes=$((mb * 1000000))
xz -dc "$data/kowiki_2020_sample/"*part0*.xz 2>/dev/null | head -c $bytes | iconv -c -f utf-8 -t utf-8 > "$work/ko.txt" || true
xz -dc "$data/enwiki_2018_sample/enwiki_AA_part0.txt.xz" | head -c $bytes | iconv -c -f utf-8 -t utf-8 > "$work/en.txt" || true
# paragraphs (split at blank lines / <doc> lines, about 1-4 KB) as records, the same for both sides
for lang in ko en; do
    /usr/bin/python3 - "$work/$lang.txt" "$work/$lang.rec" <<'PY'
import sys
raw = open(sys.argv[1], 'rb').read()
out = open(sys.argv[2], 'wb')
for para in raw.split(b'\n\n'):
    if para:
        para += b'\n\n'
        out.write(b'%d\n' % len(para)); out.write(para)
PY
done
export RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
printf "%-8s %8s %10s %12s %12s %8s\n" text MB tokens "ours MB/s" "HF MB/s" ratio
for lang in ko en; do
    ours=$("$root/$build/bench/tokenizer/bench_tokenizer" "$tj" "$work/$lang.rec" 5)
    hf=$(cd "$root/tests/node" && node hf_encode.js "$tj" "$work/$lang.rec" --bench 5)
    /usr/bin/python3 - "$lang" "$ours" "$hf" <<'PY'
import json, sys
o, h = json.loads(sys.argv[2]), json.loads(sys.argv[3])
mo, mh = o['bytes'] / 1e6 / o['median_s'], h['bytes'] / 1e6 / h['median_s']
same = 'same count' if o['tokens'] == h['tokens'] else 'TOKEN COUNT DIFFERS (%d)' % h['tokens']
print('%-8s %8.2f %10d %12.2f %12.2f %7.2fx  %s' % (sys.argv[1], o['bytes'] / 1e6, o['tokens'], mo, mh, mo / mh, same))
PY
done
