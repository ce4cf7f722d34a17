#!/usr/bin/env bash
# build.sh — reproduces the embedded default model (models/default): trains the bilingual
# tokenizer, prepares token shards (Korean + English text, Korean chat conversations rendered with
# the EXAONE 4.0 chat template, per-language validation sets), trains the EXAONE-4.0-architecture
# model from scratch, chat-tunes it on chatbot_data_ko (assistant-only loss), and packages the
# final checkpoint as a bf16 Hugging Face folder.
# Resumable: re-running continues training from the last checkpoint in $WORK/run.
#   usage: tools/default_model/build.sh [WORK_DIR]     (default /tmp/exaone-default)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
EXA=${EXA:-$ROOT/build/exaone}
WORK=${1:-/tmp/exaone-default}
D=$ROOT/../shared/data
mkdir -p "$WORK"

# 1. tokenizer: 16,384-entry byte-level BPE on a 37 MB Korean/English sample (WikiExtractor tags removed)
if [[ ! -f $WORK/tok/tokenizer.json ]]; then
  mkdir -p "$WORK/tokcorpus"
  xz -dc "$D/kowiki_2020_sample/kowiki_AA_part0.txt.xz" "$D/kowiki_2020_sample/kowiki_AA_part3.txt.xz" | grep -v '^<doc \|^</doc>$' > "$WORK/tokcorpus/ko_wiki.txt"
  cp "$D/koconovel/koconovel_plain.txt" "$WORK/tokcorpus/ko_novel.txt"
  cut -d, -f1,2 "$D/chatbot_data_ko/ChatbotData.csv" | tr ',' '\n' > "$WORK/tokcorpus/ko_chat.txt"
  xz -dc "$D/enwiki_2018_sample/enwiki_AA_part0.txt.xz" | grep -v '^<doc \|^</doc>$' > "$WORK/tokcorpus/en_wiki.txt"
  cat "$D"/gutenberg_en/*.txt > "$WORK/tokcorpus/en_books.txt"
  "$EXA" tokenizer-train --vocab-size 16384 --out "$WORK/tok" "$WORK"/tokcorpus/*.txt
fi

# 2. shards: shuffled training mix; Korean and English validation sets (same hash split)
if [[ ! -f $WORK/shards/mix_train_000.bin ]]; then
  /usr/bin/python3 "$ROOT/tools/default_model/make_chat_corpus.py" "$D/chatbot_data_ko/ChatbotData.csv" "$WORK/chat.jsonl" --groupings 6
  KO="$D/kowiki_2020_sample/kowiki_AA_part0.txt.xz $D/kowiki_2020_sample/kowiki_AA_part1.txt.xz $D/koconovel/koconovel_plain.txt $WORK/chat.jsonl"
  EN="$D/enwiki_2018_sample/enwiki_AA_part0.txt.xz $D/gutenberg_en/pg1342.txt $D/gutenberg_en/pg11.txt $D/gutenberg_en/pg16.txt $D/tinyshakespeare/input.txt"
  "$EXA" data prepare --tokenizer "$WORK/tok" --out "$WORK/shards" --name mix --val-fraction 0.01 $KO $EN
  rm -f "$WORK/shards/mix_val_000.bin"
  "$EXA" data prepare --tokenizer "$WORK/tok" --out "$WORK/shards" --name ko --val-fraction 0.01 --val-only $KO
  "$EXA" data prepare --tokenizer "$WORK/tok" --out "$WORK/shards" --name en --val-fraction 0.01 --val-only $EN
fi

# 3. train (checkpoints every 50 steps; --resume continues bit-exactly)
RESUME=""
[[ -d $WORK/run ]] && ls "$WORK/run" | grep -q '^step-' && RESUME=--resume
"$EXA" train --config "$ROOT/tools/default_model/train_config.json" --data "$WORK/shards" --out "$WORK/run" --tokenizer "$WORK/tok" $RESUME

# 4. chat-tune: full fine-tuning on chatbot_data_ko conversations, loss on assistant turns only
PRE=$(ls -d "$WORK"/run/step-* | sort | tail -n 1)
if [[ ! -f $WORK/chat_train.jsonl ]]; then
  /usr/bin/python3 "$ROOT/tools/default_model/make_chat_corpus.py" "$D/chatbot_data_ko/ChatbotData.csv" "$WORK/chat_train.jsonl" \
    --messages --heldout 300 --heldout-out "$WORK/chat_val.jsonl"
fi
RESUME=""
[[ -e $WORK/sft/latest ]] && RESUME=--resume
"$EXA" finetune --base "$PRE" --data "$WORK/chat_train.jsonl" --val "$WORK/chat_val.jsonl" --out "$WORK/sft" \
  --lr 2e-4 --steps 150 --batch 16 --seq 256 --warmup 15 --seed 1 $RESUME

# 5. package the chat-tuned checkpoint as bf16 into models/default
LAST=$(ls -d "$WORK"/sft/step-* | sort | tail -n 1)
/usr/bin/python3 "$ROOT/tools/default_model/package.py" "$LAST" "$ROOT/models/default"
echo "packaged $LAST -> models/default"
