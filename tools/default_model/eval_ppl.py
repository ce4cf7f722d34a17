#!/usr/bin/env python3
"""eval_ppl.py — perplexity of a model folder on held-out text, computed through the exaone CLI
(`exaone tokenize` for ids, `exaone logits` for the logits): the text is cut into windows of
--window tokens (the training sequence length), each evaluated from position 0; reports mean
negative log-likelihood per token and perplexity. Used for the default model's card.

usage: eval_ppl.py EXAONE MODEL_DIR TEXT_FILE [--window 256] [--windows 40]
"""
import argparse, os, subprocess, sys, tempfile
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("exaone"); ap.add_argument("model"); ap.add_argument("text")
ap.add_argument("--window", type=int, default=256); ap.add_argument("--windows", type=int, default=40)
a = ap.parse_args()
ids = subprocess.run([a.exaone, "tokenize", "-m", a.model, "-f", a.text], check=True, capture_output=True, text=True).stdout.split()
ids = [int(x) for x in ids]
W = a.window
nll, count = 0.0, 0
with tempfile.TemporaryDirectory() as td:
    out = os.path.join(td, "l.bin")
    for w in range(min(a.windows, len(ids) // W)):
        win = ids[w * W:(w + 1) * W]
        subprocess.run([a.exaone, "logits", "-m", a.model, "--tokens", ",".join(map(str, win)), "--out", out], check=True)
        lg = np.fromfile(out, dtype="<f4").reshape(W, -1).astype(np.float64)
        lg -= lg.max(axis=1, keepdims=True)
        logp = lg - np.log(np.exp(lg).sum(axis=1, keepdims=True))
        nll -= logp[np.arange(W - 1), win[1:]].sum()
        count += W - 1
print(f"{os.path.basename(a.text)}: {count} tokens, mean NLL {nll / count:.4f}, perplexity {np.exp(nll / count):.1f}")
