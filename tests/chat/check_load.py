#!/usr/bin/python3
"""check_load.py — template discovery and identification (exa_chat_template_load via
chat_tool load): chat_template.jinja, tokenizer_config.json (string / named list), precedence,
config.json and vocabulary fallbacks, forced kinds, and refusal of unknown or modified
templates. Every variant the loader accepts as "the same template" is also rendered with Jinja2
to confirm it really is equivalent.
With a third argument (the exaone CLI), `exaone template` is checked against golden strings.
Usage: check_load.py PATH/TO/chat_tool TEMPLATES_DIR [PATH/TO/exaone]   (env EXA_SHARED = shared folder)"""
import json, os, re, subprocess, sys, tempfile

from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

tool_bin, tdir = sys.argv[1], sys.argv[2]
shared = os.environ.get('EXA_SHARED') or os.path.join(os.path.dirname(__file__), '../../../shared')
tokdir = os.path.join(shared, 'data/exaone-tokenizer')
T4 = open(os.path.join(tokdir, 'exaone-4.0/chat_template.jinja')).read()
T3 = json.load(open(os.path.join(tokdir, 'exaone-3.5/tokenizer_config.json')))['chat_template']
TD = open(os.path.join(tdir, 'exaone-deep.jinja')).read()
TDG = open(os.path.join(tdir, 'exaone-deep-gguf.jinja')).read()
CHATML = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"

E = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
E.filters['tojson'] = lambda x, ensure_ascii=False, **k: json.dumps(x, ensure_ascii=ensure_ascii)
E.globals['raise_exception'] = lambda m: (_ for _ in ()).throw(Exception(m))
PROBE = [dict(messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
                        {"role": "assistant", "content": "<think>\nr\n</think>\n\n<thought>x</thought>a",
                         "tool_calls": [{"function": {"name": "f", "arguments": {"k": 1}}}]},
                        {"role": "tool", "content": "1"}, {"role": "tool", "content": "2"}, {"role": "user", "content": "v"}],
              tools=[{"type": "function", "function": {"name": "f"}}], add_generation_prompt=True, skip_think=False),
         dict(messages=[{"role": "user", "content": "u"}], add_generation_prompt=False, enable_thinking=True)]

def same_under_jinja(a, b):
    ta, tb = E.from_string(a), E.from_string(b)
    return all(ta.render(**p) == tb.render(**p) for p in PROBE)

reindented = '\n'.join(('        ' + l.strip()) if l.strip() else '' for l in T4.split('\n'))
quotes_swapped = TD.replace("'", '"')
tabs_to_spaces = TDG.replace('\t', '    ')
crlf = T4.replace('\n', '\r\n') + '\r\n\r\n'
equivalents = [(reindented, T4), (quotes_swapped, TD), (tabs_to_spaces, TDG), (crlf, T4)]
for v, orig in equivalents:
    assert same_under_jinja(v, orig), 'test variant is not equivalent under Jinja'
mod_eot = T4.replace("set end_of_turn = '[|endofturn|]\\n'", "set end_of_turn = '[|endofturn|]'")
mod_space = T3.replace("'[|assistant|]'", "'[|assistant|] '")
mod_text = T4 + "extra"
mod_indent_data = TD.replace("{% endfor %}", "{% endfor %}  ")  # visible whitespace in output
assert mod_eot != T4 and mod_space != T3
assert not same_under_jinja(mod_indent_data, TD)

checks = []
def check(name, files, want, force=None, sub=None):
    checks.append((name, files, want, force, sub))

check('jinja file 4.0', {'chat_template.jinja': T4}, 'exaone4')
check('jinja file 4.0 re-indented', {'chat_template.jinja': reindented}, 'exaone4')
check('jinja file 4.0 CRLF + blank lines', {'chat_template.jinja': crlf}, 'exaone4')
check('tokenizer_config 3.5 string', {'tokenizer_config.json': {'chat_template': T3}}, 'exaone3')
check('tokenizer_config Deep list', {'tokenizer_config.json': {'chat_template': [{'name': 'tool_use', 'template': CHATML},
                                                                                 {'name': 'default', 'template': TD}]}}, 'exaone-deep')
check('Deep quotes swapped', {'chat_template.jinja': quotes_swapped}, 'exaone-deep')
check('Deep GGUF form, spaces', {'chat_template.jinja': tabs_to_spaces}, 'exaone-deep')
check('list without default', {'tokenizer_config.json': {'chat_template': [{'name': 'tool_use', 'template': T4}]}}, 'error', sub='without a "default"')
check('jinja file wins over tokenizer_config', {'chat_template.jinja': T4, 'tokenizer_config.json': {'chat_template': T3}}, 'exaone4')
check('modified 4.0 refused', {'chat_template.jinja': mod_eot}, 'error', sub='resembles EXAONE 4.0')
check('literal space refused', {'tokenizer_config.json': {'chat_template': mod_space}}, 'error', sub='resembles EXAONE 3.x')
check('trailing text refused', {'chat_template.jinja': mod_text}, 'error', sub='not a known official')
check('visible whitespace refused', {'chat_template.jinja': mod_indent_data}, 'error', sub='resembles EXAONE Deep')
check('ChatML refused', {'chat_template.jinja': CHATML}, 'error', sub='unknown chat template')
check('ChatML forced', {'chat_template.jinja': CHATML}, 'exaone4', force='exaone4', sub='forced')
check('forced same kind keeps origin', {'chat_template.jinja': T4}, 'exaone4', force='exaone4', sub='official EXAONE 4.0')
check('config exaone4', {'config.json': {'model_type': 'exaone4'}}, 'exaone4', sub='model_type exaone4')
check('config exaone Deep', {'config.json': {'model_type': 'exaone', '_name_or_path': 'LGAI-EXAONE/EXAONE-Deep-7.8B'}}, 'exaone-deep')
check('config exaone 3.5', {'config.json': {'model_type': 'exaone', '_name_or_path': 'LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct'}}, 'exaone3')
check('vocab 4.0', {'tokenizer_config.json': json.load(open(os.path.join(tokdir, 'exaone-4.0/tokenizer_config.json')))}, 'exaone4', sub='vocabulary')
check('empty folder', {}, 'error', sub='no chat template')
check('empty folder forced', {}, 'exaone-deep', force='exaone-deep')
check('broken tokenizer_config', {'tokenizer_config.json': '{"chat_template": '}, 'error', sub='not a JSON object')

bad = 0
dirs = {}
with tempfile.TemporaryDirectory() as td:
    for i, (name, files, want, force, sub) in enumerate(checks):
        d = os.path.join(td, str(i))
        os.mkdir(d)
        dirs[name] = d
        for fn, content in files.items():
            with open(os.path.join(d, fn), 'w', encoding='utf-8') as f:
                f.write(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False))
        args = [tool_bin, 'load', d] + ([force] if force else [])
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()
        kind = 'error' if out.startswith('error:') else out.split('\t')[0]
        if kind != want or (sub and sub not in out):
            bad += 1
            print(f'FAIL {name}: want {want} ({sub}), got: {out}')
    # the shared tokenizer folders themselves
    for sub_, want in [('exaone-4.0', 'exaone4'), ('exaone-3.5', 'exaone3')]:
        out = subprocess.run([tool_bin, 'load', os.path.join(tokdir, sub_)], capture_output=True, text=True, check=True).stdout
        if not out.startswith(want + '\t') or 'official' not in out:
            bad += 1
            print(f'FAIL shared {sub_}: {out}')
    n_cli = 0
    if len(sys.argv) > 3:
        golden = json.load(open(os.path.join(tokdir, 'golden-token-ids.json')))['cases']
        mp = os.path.join(td, 'm.json')
        json.dump([{"role": "user", "content": "Hello"}], open(mp, 'w'))
        mq = os.path.join(td, 'q.json')
        json.dump([{"role": "user", "content": "What is 2+2?"}], open(mq, 'w'))
        for args, g in [(['-m', os.path.join(tokdir, 'exaone-4.0'), '--think', mp], 'chat_40_user_gen_think'),
                        (['-m', os.path.join(tokdir, 'exaone-3.5'), mp], 'chat_35_user_only_gen'),
                        (['--kind', 'exaone-deep', mq], 'chat_deep_user_gen')]:
            n_cli += 1
            r = subprocess.run([sys.argv[3], 'template'] + args, capture_output=True)
            if r.returncode != 0 or r.stdout.decode() != golden[g]['text']:
                bad += 1
                print(f'FAIL exaone template {args}: rc={r.returncode} out={r.stdout!r} err={r.stderr!r}')
        n_cli += 1
        r = subprocess.run([sys.argv[3], 'template', '-m', dirs['ChatML refused'], mp], capture_output=True)
        if r.returncode == 0 or b'unknown chat template' not in r.stderr:
            bad += 1
            print('FAIL exaone template on a ChatML folder should fail:', r)
n = len(checks) + 2 + n_cli
print(f'{n - bad}/{n} template loading checks passed')
sys.exit(1 if bad else 0)
