#!/usr/bin/python3
"""check_pyjson.py — compares src/chat/pyjson.c (via chat_tool pyjson) with Python's
json.dumps(json.loads(line), ensure_ascii=False) on several thousand generated JSON texts:
nested containers, key order, duplicate keys, every escape class, Korean/emoji, surrogate pairs,
integers up to 2**64-1 and floats (random bit patterns and the repr edge cases).
Usage: check_pyjson.py PATH/TO/chat_tool"""
import json, math, random, struct, subprocess, sys

rng = random.Random(20261122)
ALPHA = ['a', 'Z', ' ', '"', '\\', '/', '\n', '\r', '\t', '\b', '\f', '\x00', '\x01', '\x1f', '\x7f',
         '\x85', '\xa0', 'é', '한', '국', '어', '\u2028', '\u2029', '\u3000', '\ufeff', '😀', '🦙', '\U0010ffff',
         '<', '>', '&', "'", '{', '}', '[', ']', ':', ',']

def rstr():
    return ''.join(rng.choice(ALPHA) for _ in range(rng.randint(0, 12)))

def rfloat():
    r = rng.random()
    if r < 0.4:
        while True:
            x = struct.unpack('<d', struct.pack('<Q', rng.getrandbits(64)))[0]
            if math.isfinite(x): return x
    if r < 0.6: return rng.uniform(-1e6, 1e6)
    if r < 0.8: return float(rng.randint(-10**6, 10**6)) * 10.0 ** rng.randint(-25, 25)
    return rng.choice([0.0, -0.0, 0.1, 1/3, 2/3, 1e16, 1e15, 9999999999999998.0, 1e-4, 1e-5, 0.0001234,
                       5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1e22, 1e23, 100.0,
                       123456789012345678.0, 0.30000000000000004, -1.5, 3.14, 2.5e-7, 1e300])

def rint():
    return rng.choice([0, 1, -1, 42, rng.randint(-1000, 1000), rng.randint(-2**63, 2**63 - 1), 2**63 - 1,
                       -2**63, 2**63, 2**64 - 1, rng.randint(2**63, 2**64 - 1)])

def rval(depth=0):
    r = rng.random()
    if depth < 5 and r < 0.2:
        return [rval(depth + 1) for _ in range(rng.randint(0, 4))]
    if depth < 5 and r < 0.4:
        # keys without U+0000: json-c keeps object keys as C strings (documented limitation)
        return {rstr().replace('\x00', ''): rval(depth + 1) for _ in range(rng.randint(0, 4))}
    return rng.choice([rstr, rfloat, rint, lambda: True, lambda: False, lambda: None])()

lines = []
for i in range(4000):
    v = rval()
    mode = i % 3
    if mode == 0: lines.append(json.dumps(v))
    elif mode == 1: lines.append(json.dumps(v, ensure_ascii=False))
    else: lines.append(json.dumps(v, separators=(',', ':'), ensure_ascii=False))
# literal texts whose parse matters
lines += ['1.50', '1E5', '1e+5', '-0', '-0.0', '0.1e1', '1e-7', '12345678901234567890', '[1.0, 2, 3.25e2]',
          '{"b": 1, "a": 2, "b": 3}', '{"k": {"x": [], "y": {}}, "z": ""}', '"\\ud83d\\ude00 \\u00e9 \\u0000"',
          '{"type": "function", "function": {"name": "f", "description": "날씨를 알려준다", '
          '"parameters": {"type": "object", "properties": {"loc": {"type": "string"}}}}}',
          '123.456e-300', '9007199254740993', '0.000001', '1e16', '1e-4', '[[[[[]]]]]']

out = subprocess.run([sys.argv[1], 'pyjson'], input='\n'.join(l.replace('\n', '\\n') for l in lines) + '\n',
                     capture_output=True, text=True, encoding='utf-8', errors='surrogateescape', check=True).stdout.split('\n')
bad = 0
for i, l in enumerate(lines):
    want = json.dumps(json.loads(l), ensure_ascii=False)
    if out[i] != want:
        bad += 1
        if bad <= 10:
            print('MISMATCH input:', l, '\n  python:', want, '\n  ours:  ', out[i])
print(f'{len(lines) - bad}/{len(lines)} values serialised exactly like json.dumps(ensure_ascii=False)')
sys.exit(1 if bad else 0)
