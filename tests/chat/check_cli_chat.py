#!/usr/bin/python3
"""check_cli_chat.py — end-to-end test of `exaone chat` on random-weight models with the real
EXAONE 4.0 and 3.5 tokenizers: a scripted non-interactive session (/system, /think, /save,
/reset, unknown command), the saved conversation's structure, and — the KV prefix reuse across
turns — that each greedy answer equals `exaone generate` on the full re-rendered conversation
(`exaone template`), parsed with the same output parser.
Usage: check_cli_chat.py PATH/TO/exaone PATH/TO/chat_tool   (env EXA_SHARED = shared folder)"""
import json, os, subprocess, sys, tempfile

exe, tool = sys.argv[1], sys.argv[2]
shared = os.environ.get('EXA_SHARED') or os.path.join(os.path.dirname(__file__), '../../../shared')
tokdir = os.path.join(shared, 'data/exaone-tokenizer')
bad = 0
n_checks = 0

def fail(msg):
    global bad
    bad += 1
    print('FAIL', msg)

def run(args, inp=None):
    return subprocess.run([exe] + args, input=inp, capture_output=True, timeout=300)

with tempfile.TemporaryDirectory() as td:
    for shape, tk, kind in [('tiny-exaone4', 'exaone-4.0', 'exaone4'), ('tiny-exaone3', 'exaone-3.5', 'exaone3')]:
        m = os.path.join(td, shape)
        r = run(['random-model', '--shape', shape, '--vocab', '102400', '--out', m, '--tokenizer', os.path.join(tokdir, tk)])
        if r.returncode: fail(f'random-model {shape}: {r.stderr}'); continue
        s1, s2 = os.path.join(td, shape + '-s1.json'), os.path.join(td, shape + '-s2.json')
        script = (f'/system 짧게 답하세요.\nHello\n/think on\n안녕하세요?\n/think off\nWhat next?\n/save {s1}\n'
                  f'/bogus\n/reset\nbye\n/save {s2}\n')
        r = run(['chat', '-m', m, '--temp', '0', '-n', '10', '--ctx', '1024', '-t', '1'], script.encode())
        n_checks += 1
        if r.returncode: fail(f'{shape} chat rc={r.returncode} stderr={r.stderr!r}'); continue
        err = r.stderr.decode()
        n_checks += 1
        if 'unknown command /bogus' not in err or '(conversation cleared)' not in err:
            fail(f'{shape} command feedback missing: {err!r}')
        conv = json.load(open(s1))
        roles = [x['role'] for x in conv]
        n_checks += 1
        if roles != ['system', 'user', 'assistant', 'user', 'assistant', 'user', 'assistant'] or conv[0]['content'] != '짧게 답하세요.':
            fail(f'{shape} saved conversation: {roles}')
        conv2 = json.load(open(s2))
        n_checks += 1
        if [x['role'] for x in conv2] != ['system', 'user', 'assistant'] or conv2[1]['content'] != 'bye':
            fail(f'{shape} after /reset: {conv2}')
        # each answer == generate on the re-rendered conversation (prefix reuse is exact)
        think = [False, kind == 'exaone4', False]
        for k, ai in enumerate([2, 4, 6]):
            mp = os.path.join(td, f'{shape}-m{k}.json')
            json.dump(conv[:ai], open(mp, 'w'), ensure_ascii=False)
            tr = run(['template', '-m', m] + (['--think'] if think[k] else []) + [mp])
            pf = os.path.join(td, f'{shape}-p{k}.txt')
            open(pf, 'wb').write(tr.stdout)
            g = run(['generate', '-m', m, '-f', pf, '-n', '10', '--temp', '0', '-t', '1', '--ctx', '1024'])
            p = subprocess.run([tool, 'parse', kind, '1' if think[k] else '0'], input=g.stdout, capture_output=True)
            want = json.loads(p.stdout)['content']
            n_checks += 1
            if tr.returncode or g.returncode or want != conv[ai]['content']:
                fail(f'{shape} turn {k}: chat answer {conv[ai]["content"]!r} != generate {want!r} (raw {g.stdout!r})')
    # a folder whose template is unknown is refused before loading anything
    r = run(['chat', '-m', td])
    n_checks += 1
    if r.returncode == 0 or b'no chat template' not in r.stderr:
        fail(f'chat on a folder without a model should fail clearly: {r.stderr!r}')
print(f'{n_checks - bad}/{n_checks} exaone chat checks passed')
sys.exit(1 if bad else 0)
