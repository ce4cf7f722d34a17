#!/usr/bin/python3
"""make_parity_corpus.py — builds the tokenizer parity corpus from ../shared/data: real Korean and
English text (kowiki, enwiki, Korean novels, Gutenberg, ko-en parallel sentences, chatbot data)
cut into chunks of a few KB at paragraph boundaries, plus edge cases (NUL bytes, NFD Hangul,
emoji, a 1 MB single word, long space/tab runs, mixed digits, exotic numerals, invalid UTF-8,
random code point soup). Output: a sequence of records "<byte length>\\n<bytes>".
usage: make_parity_corpus.py SHARED_DATA_DIR OUT_FILE [MB_PER_LANGUAGE]"""
import lzma, random, sys, unicodedata, os

data, out = sys.argv[1], sys.argv[2]
mb = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
budget = int(mb * 1e6)

def read(rel, limit):
    p = os.path.join(data, rel)
    if p.endswith('.xz'):
        with lzma.open(p, 'rb') as f:
            return f.read(limit)
    with open(p, 'rb') as f:
        return f.read(limit)

def chunks(raw, size=4000):
    # cut at a paragraph boundary near `size` bytes; keep the bytes exact (no decoding)
    i = 0
    while i < len(raw):
        j = min(len(raw), i + size)
        k = raw.rfind(b'\n\n', i + size // 2, j) if j < len(raw) else -1
        if k > 0: j = k + 2
        # never cut inside a UTF-8 character
        while j < len(raw) and (raw[j] & 0xC0) == 0x80: j += 1
        yield raw[i:j]
        i = j

recs = []
ko = [('kowiki_2020_sample/' + n, 0.45) for n in sorted(os.listdir(os.path.join(data, 'kowiki_2020_sample'))) if n.endswith('.xz')][:1]
ko += [('koconovel/koconovel_plain.txt', 0.3), ('chatbot_data_ko/ChatbotData.csv', 0.1),
       ('ko_en_news_park/korean-english-park.test.ko', 0.1), ('ko_en_jhe/jhe-koen-dev.ko', 0.05)]
en = [('enwiki_2018_sample/enwiki_AA_part0.txt.xz', 0.45), ('gutenberg_en/pg1342.txt', 0.2), ('gutenberg_en/pg2701.txt', 0.15),
      ('ko_en_news_park/korean-english-park.test.en', 0.1), ('tinyshakespeare/input.txt', 0.1)]
for group in (ko, en):
    for rel, frac in group:
        try:
            raw = read(rel, int(budget * frac))
        except FileNotFoundError:
            continue
        # drop a cut-off UTF-8 character at the end
        while raw and (raw[-1] & 0xC0) == 0x80: raw = raw[:-1]
        if raw and raw[-1] >= 0xC0: raw = raw[:-1]
        recs.extend(chunks(raw))

# edge cases
rng = random.Random(1234)
E = lambda s: s.encode('utf-8', 'surrogatepass')
edge = [
    'a\0b\0\0c', '\0', ' \0 ', unicodedata.normalize('NFD', '안녕하세요 한국어 텍스트입니다'), '🦙 ✅ 😶‍🌫️ 👩‍👩‍👧‍👦 🇰🇷',
    'x' + ' ' * 40 + 'y', ' ' * 40, '\t' * 13 + 'z', ' \t \t\t  \t   a', 'a  b   c\t\td\n\n  e', '   ', ' ', '\n', '\r\n\r\n',
    'In 2024, 12345 items cost $3.14. ٣٤٥ ๑๒๓ ①②③ ⅣⅫ ½¼ x² 10⁵ 𝟘𝟙', 'abc123def 4 5six 7.8', '서울은 2025년에 9.5%였다',
    "I've, you'll, he's 'RE 'M 'D We'Ve a'lL ''s '''", '[|user|]\nhi[|endofturn|]<think>\n</think>[BOS]  x', 'PI:URL PI:EMAILx',
    '[|system|]' * 3 + '[|endofturn' + '|]' * 2, '<tool_call>{"a": 1}</tool_call>', '<|endoftext|><|python|>',
    '\u00a0\u3000\u2003x\u2028y\u0085z\u180e\u200b', 'ﬁ ﬀ ｱｲｳ ＡＢＣ Å Å', 'e\u0301 a\u0308 한\u1161',
]
for s in edge: recs.append(E(s))
recs.append(b'a' * (1 << 20))                    # 1 MB single word
recs.append(('가' * 200000).encode())            # 600 KB Hangul word
recs.append(b'1' * 5000 + b' ' * 5000 + b'\t' * 3000)
# invalid UTF-8 (both sides must see the same U+FFFD replacement: maximal subparts)
for b in [b'\xff', b'a\x80b', b'\xc3', b'\xe2\x82', b'\xe2\x82x', b'\xf0\x9f\x98', b'\xed\xa0\x80', b'\xc0\xaf',
          b'\xf4\x90\x80\x80', b'\xf8\x88\x80\x80\x80', '한'.encode()[:2] + b' x', b'\xef\xbb\xbfBOM']:
    recs.append(b)
# random code point soup (exercises every character class boundary)
pools = [range(0x20, 0x7f), range(0xa0, 0x250), range(0x300, 0x370), range(0x370, 0x3ff), range(0x400, 0x500),
         range(0x600, 0x700), range(0x900, 0x980), range(0xe00, 0xe80), range(0x1100, 0x1200), range(0x2000, 0x2070),
         range(0x2150, 0x2190), range(0x2460, 0x24ff), range(0x3000, 0x3100), range(0xac00, 0xd7a4), range(0xff00, 0xffef),
         range(0x10000, 0x10100), range(0x1d400, 0x1d800), range(0x1f300, 0x1f700), range(0x20000, 0x20100), range(0xe0000, 0xe0080)]
for _ in range(400):
    n = rng.randint(1, 60)
    s = []
    for _ in range(n):
        r = rng.random()
        if r < 0.15: s.append(rng.choice(' \t\n\r\'0123456789'))
        elif r < 0.2: s.append(rng.choice(["'s", "'re", "'ll", ' ' * rng.randint(2, 35), '\t' * rng.randint(2, 10)]))
        else:
            p = rng.choice(pools); c = rng.choice(p)
            if 0xd800 <= c <= 0xdfff: c = 0x41
            s.append(chr(c))
    recs.append(E(''.join(s)))
# every code point of the BMP and the used planes once, 256 per record, with separators
cps = [c for c in range(0x20, 0x32000) if not (0xd800 <= c <= 0xdfff)]
for i in range(0, len(cps), 512):
    recs.append(E(' '.join(chr(c) for c in cps[i:i + 512])))

with open(out, 'wb') as f:
    for r in recs:
        f.write(b'%d\n' % len(r)); f.write(r)
print('%d records, %.1f MB' % (len(recs), sum(map(len, recs)) / 1e6))
