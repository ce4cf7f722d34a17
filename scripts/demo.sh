#!/usr/bin/env bash
# demo.sh — the main job of `make demo`: chat, offline, with the embedded default model
# (models/default, the project's own small bilingual EXAONE-4.0-architecture model). On a
# terminal the chat is interactive; otherwise a short Korean and English conversation is played.
# Without models/default (a checkout without the model), it falls back to generating with a
# small random-weight checkpoint the build creates, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
EXA=$BUILD/exaone
if [[ -f models/default/config.json ]]; then
  echo "exaone.c demo: chatting with the embedded default model (models/default, see models/default/README.md)."
  echo "It is a ~9M-parameter model trained on 2 CPU cores in about an hour: it writes Korean and"
  echo "English and follows the chat format, but it knows little and makes things up."
  echo
  "$EXA" info -m models/default | sed -n '1,3p'
  echo
  if [[ -t 0 && -t 1 ]]; then
    exec "$EXA" chat -m models/default --temp 0.3 --repeat-penalty 1.1 -n 200
  fi
  printf '%s\n' "안녕하세요! 오늘 기분이 어때요?" "요즘 너무 피곤해" "What do you like to do on weekends?" |
    "$EXA" chat -m models/default --temp 0.3 --repeat-penalty 1.1 -n 80 --seed 1 --echo
  exit 0
fi
DEMO=$BUILD/demo-model
if [[ ! -f $DEMO/model.safetensors ]]; then
  "$EXA" random-model --shape tiny-exaone4 --out "$DEMO" --dtype bf16 --seed 7
fi
echo "NOTE: models/default is missing, so this demo runs the engine on a small RANDOM-WEIGHT"
echo "      EXAONE-4.0-shaped checkpoint the build created in $DEMO (the output is meaningless)."
"$EXA" generate -m "$DEMO" --tokens 1,2,3,4,5 -n 24 --temp 0.7 --seed 1 --ignore-eos
