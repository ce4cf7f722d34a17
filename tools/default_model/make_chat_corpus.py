#!/usr/bin/env python3
"""make_chat_corpus.py — turns chatbot_data_ko (11,823 Korean Q,A pairs, MIT, Youngsook Song 2018) into
chat-format training documents for the embedded default model: each document is a short
multi-turn conversation rendered exactly as the EXAONE 4.0 chat template renders it (non-reasoning
turns carry the empty <think> block). Several seeded groupings of the pairs are written so the
pairs recur in different contexts (exact-duplicate documents would be dropped by data prepare).

usage: make_chat_corpus.py CSV OUT.jsonl [--groupings 3] [--turns 3] [--seed 1]
       make_chat_corpus.py CSV OUT.jsonl --messages [--heldout N --heldout-out VAL.jsonl]
  --messages writes OpenAI-style {"messages": [...]} lines (one pair each) for `exaone finetune`;
  the last N pairs of a seeded shuffle go to VAL.jsonl instead.
"""
import csv, json, random, sys

def render(turns):
    # REF: spec §8.3 — user turns and assistant turns of the 4.0 template, skip_think default
    out = []
    for q, a in turns:
        out.append("[|user|]\n" + q + "[|endofturn|]\n")
        out.append("[|assistant|]\n<think>\n\n</think>\n\n" + a + "[|endofturn|]\n")
    return "".join(out)

def main():
    args = sys.argv[1:]
    opts = {"--groupings": 3, "--turns": 3, "--seed": 1, "--heldout": 0}
    pos, messages, heldout_out = [], False, None
    i = 0
    while i < len(args):
        if args[i] == "--messages":
            messages = True; i += 1
        elif args[i] == "--heldout-out":
            heldout_out = args[i + 1]; i += 2
        elif args[i] in opts:
            opts[args[i]] = int(args[i + 1]); i += 2
        else:
            pos.append(args[i]); i += 1
    if len(pos) != 2:
        sys.exit(__doc__)
    with open(pos[0], encoding="utf-8") as f:
        pairs = [(r["Q"].strip(), r["A"].strip()) for r in csv.DictReader(f) if r["Q"].strip() and r["A"].strip()]
    rng = random.Random(opts["--seed"])
    if messages:
        order = pairs[:]
        rng.shuffle(order)
        h = opts["--heldout"]
        train, val = (order[:-h], order[-h:]) if h else (order, [])
        for path, part in ((pos[1], train), (heldout_out, val)):
            if not path:
                continue
            with open(path, "w", encoding="utf-8") as out:
                for q, a in part:
                    out.write(json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]},
                                         ensure_ascii=False) + "\n")
        print(f"{len(train)} train / {len(val)} held-out conversations", file=sys.stderr)
        return
    n = 0
    with open(pos[1], "w", encoding="utf-8") as out:
        for g in range(opts["--groupings"]):
            order = pairs[:]
            rng.shuffle(order)
            k = 1 + g % opts["--turns"]  # grouping g uses conversations of 1, 2, 3 ... turns
            for j in range(0, len(order), k):
                out.write(json.dumps({"text": render(order[j:j + k])}, ensure_ascii=False) + "\n")
                n += 1
    print(f"{len(pairs)} pairs -> {n} conversations in {pos[1]}", file=sys.stderr)

if __name__ == "__main__":
    main()
