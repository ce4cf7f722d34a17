#!/usr/bin/python3
"""make_flags_case.py — a variant of the EXAONE 4.0 tokenizer.json whose added tokens use every
AddedToken flag (lstrip, rstrip, single_word, normalized, a non-special word token), and a corpus
that puts those tokens next to spaces, words, punctuation and each other, so the parity test checks
our handling of the flags against Hugging Face `tokenizers`.
usage: make_flags_case.py TOKENIZER_JSON OUT_JSON OUT_CORPUS"""
import json, random, sys

tj, out_json, out_corpus = sys.argv[1:4]
t = json.load(open(tj))
flags = {356: dict(lstrip=True), 355: dict(rstrip=True), 351: dict(lstrip=True, rstrip=True),
         52: dict(single_word=True), 53: dict(single_word=True, lstrip=True), 54: dict(normalized=True),
         57: dict(normalized=True, rstrip=True)}
for a in t['added_tokens']:
    a.update(flags.get(a['id'], {}))
t['added_tokens'].append({'id': 102400, 'content': 'hello world', 'single_word': False, 'lstrip': False,
                          'rstrip': False, 'normalized': True, 'special': False})
json.dump(t, open(out_json, 'w'), ensure_ascii=False)
toks = ['<think>', '</think>', '</tool_call>', 'PI:URL', 'PI:EMAIL', 'PI:ACCOUNT_NUM', 'PI:ANNON', 'hello world',
        '[|endofturn|]', '  ', '\t\t']
fill = [' ', '  ', '   ', '\n', '\t', ' \n ', 'x', 'word', '_', '안녕', '1', '.', 'é', '\u3000', '']
rng = random.Random(7)
recs = []
for _ in range(3000):
    recs.append(''.join(rng.choice(toks) if rng.random() < 0.4 else rng.choice(fill) for _ in range(rng.randint(1, 12))))
recs += ['PI:URLx', 'xPI:URL', ' PI:URL ', '_PI:URL', 'PI:URL_', '안PI:URL', 'PI:URL안', '  <think>  a', 'a</think>   b',
         '   </tool_call>   ', 'PI:ACCOUNT_NUM', 'hello worldhello world', ' \t <think>']
with open(out_corpus, 'wb') as f:
    for r in recs:
        b = r.encode()
        f.write(b'%d\n' % len(b)); f.write(b)
