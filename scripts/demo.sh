#!/usr/bin/env bash
# demo.sh — the main job of `make demo`: run the embedded default model. Until the project's own
# trained model ships in models/, it generates with a small random-weight checkpoint that the
# build creates (exaone random-model), and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
EXA=$BUILD/exaone
if [[ -f models/default/config.json ]]; then
  exec "$EXA" generate -m models/default "${@:2}"
fi
DEMO=$BUILD/demo-model
if [[ ! -f $DEMO/model.safetensors ]]; then
  "$EXA" random-model --shape tiny-exaone4 --out "$DEMO" --dtype bf16 --seed 7
fi
echo "NOTE: the embedded default model has not been trained yet (issue 6)."
echo "      This demo runs the real engine on a small RANDOM-WEIGHT EXAONE-4.0-shaped checkpoint"
echo "      the build created in $DEMO, so the output token ids are meaningless."
echo
"$EXA" info -m "$DEMO"
echo
echo "\$ exaone generate -m $DEMO --tokens 1,2,3,4,5 -n 24 --temp 0.7 --seed 1"
"$EXA" generate -m "$DEMO" --tokens 1,2,3,4,5 -n 24 --temp 0.7 --seed 1 --ignore-eos
