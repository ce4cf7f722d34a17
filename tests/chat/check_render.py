#!/usr/bin/python3
"""check_render.py — renders a matrix of conversations with the native C renderer (chat_tool
render) and with Jinja2 on the official template files under Hugging Face's settings
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, tojson =
json.dumps(ensure_ascii=False), raise_exception), and requires byte-identical text (or an error
from both). Also checks the golden prompt strings in shared/data/exaone-tokenizer.
Usage: check_render.py PATH/TO/chat_tool TEMPLATES_DIR   (env EXA_SHARED = shared folder)"""
import copy, json, os, subprocess, sys, tempfile

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

tool_bin, tdir = sys.argv[1], sys.argv[2]
shared = os.environ.get('EXA_SHARED') or os.path.join(os.path.dirname(__file__), '../../../shared')
tokdir = os.path.join(shared, 'data/exaone-tokenizer')

def env():
    e = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    e.filters['tojson'] = lambda x, ensure_ascii=False, indent=None, separators=None, sort_keys=False: \
        json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
    def raise_exception(msg): raise jinja2.exceptions.TemplateError(msg)
    e.globals['raise_exception'] = raise_exception
    return e

E = env()
TEMPLATES = {
    'exaone3': [E.from_string(json.load(open(os.path.join(tokdir, 'exaone-3.5/tokenizer_config.json')))['chat_template'])],
    'exaone-deep': [E.from_string(open(os.path.join(tdir, 'exaone-deep.jinja')).read()),
                    E.from_string(open(os.path.join(tdir, 'exaone-deep-gguf.jinja')).read())],
    'exaone4': [E.from_string(open(os.path.join(tokdir, 'exaone-4.0/chat_template.jinja')).read())],
}

SYS35 = 'You are EXAONE model from LG AI Research, a helpful assistant.'
ROLL = {"type": "function", "function": {"name": "roll_dice", "description": "Roll a dice with the number 1 to N. User can select the number N.",
        "parameters": {"type": "object", "required": ["max_num"], "properties": {"max_num": {"type": "int", "description": "Max number of the dice"}}}}}
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "지정한 도시의 날씨를 알려준다 (섭씨).",
           "parameters": {"type": "object", "properties": {
               "location": {"type": "string", "description": "도시 이름, 예: 서울"},
               "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
               "days": {"type": "integer", "minimum": 1, "maximum": 7},
               "threshold": {"type": "number", "default": 0.5, "examples": [1e-05, 25.0, 1e16, -0.0]},
               "filters": {"type": "object", "properties": {"rain": {"type": "boolean"}, "tags": {"type": "array", "items": {"type": "string"}}},
                           "required": []}},
               "required": ["location"]}}}
SEARCH = {"type": "function", "function": {"name": "search", "description": "Search \"quoted\" text\\path\n<tab>\t end",
          "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}}
CALL6 = {"type": "function", "function": {"name": "roll_dice", "arguments": {"max_num": 6}}}

def u(c): return {"role": "user", "content": c}
def a(c, **kw): return dict({"role": "assistant", "content": c}, **kw)
def s(c): return {"role": "system", "content": c}
def t(c): return {"role": "tool", "content": c}

cases = []
def case(name, kind, messages, tools=None, golden=None, **opts):
    c = {"name": name, "kind": kind, "messages": messages}
    if tools is not None: c["tools"] = tools
    c.update(opts)
    if golden: c["golden"] = golden
    cases.append(c)

# ---- EXAONE 3.x
case('e3_sys_user_gen', 'exaone3', [s(SYS35), u('Hello')], golden='chat_35_sys_user_gen')
case('e3_user_only_gen', 'exaone3', [u('Hello')], golden='chat_35_user_only_gen')
case('e3_multiturn', 'exaone3', [s(SYS35), u('Hi'), a('Hello! How can I help?'), u('Thanks')], golden='chat_35_multiturn')
case('e3_korean_no_gen', 'exaone3', [s('당신은 친절한 비서입니다.'), u('서울의 인구는?'), a('약 940만 명입니다.')], add_generation_prompt=False)
case('e3_empty_content', 'exaone3', [u(''), a(''), u('  spaces kept  ')])
case('e3_missing_content_error', 'exaone3', [{"role": "user"}])
case('e3_null_content_error', 'exaone3', [u(None)])
case('e3_empty_messages', 'exaone3', [])
# ---- EXAONE Deep
case('deep_user_gen', 'exaone-deep', [u('What is 2+2?')], golden='chat_deep_user_gen')
case('deep_multiturn', 'exaone-deep', [u('What is 2+2?'), a('<thought>\nsimple\n</thought>\n\n4'), u('And 3+3?')], golden='chat_deep_multiturn')
case('deep_system_korean', 'exaone-deep', [s('한국어로 답하세요.'), u('피보나치 수열의 10번째 항은?')])
case('deep_no_gen', 'exaone-deep', [u('q'), a('<thought>\nr\n</thought>\n\nanswer')], add_generation_prompt=False)
case('deep_several_closers', 'exaone-deep', [u('q'), a('a</thought>b</thought>\n\n\nc'), u('again')])
case('deep_lstrip_only_newlines', 'exaone-deep', [u('q'), a('<thought>x</thought> \n y '), u('z')])
case('deep_ends_with_assistant', 'exaone-deep', [u('q'), a('done')])
case('deep_thought_in_user', 'exaone-deep', [u('explain </thought> tag\n\nplease')])
# ---- EXAONE 4.0
case('e4_user_gen', 'exaone4', [u('Hello')], golden='chat_40_user_gen')
case('e4_user_gen_think', 'exaone4', [u('Hello')], enable_thinking=True, golden='chat_40_user_gen_think')
case('e4_sys_user_gen', 'exaone4', [s('You are a helpful assistant.'), u('Explain how wonderful you are')], golden='chat_40_sys_user_gen')
case('e4_reasoning_history', 'exaone4', [u('Which one is bigger, 3.12 vs 3.9?'), a('<think>\nCompare decimals.\n</think>\n\n3.9 is bigger.'), u('Why?')],
     enable_thinking=True, golden='chat_40_multiturn_reasoning_history')
case('e4_tools_full', 'exaone4', [u('Roll D6 dice twice!'), a(None, tool_calls=[CALL6, CALL6]), t('4'), t('2')], tools=[ROLL], golden='chat_40_tools_full')
case('e4_tools_sys_gen', 'exaone4', [s('You are a helpful assistant.'), u('Roll D6 dice twice!')], tools=[ROLL], golden='chat_40_tools_sys_gen')
case('e4_skip_think_false_last', 'exaone4', [u('q'), a('<think>\nStep one.\nStep two.\n</think>\n\nFinal.')], skip_think=False, add_generation_prompt=False)
case('e4_skip_think_false_quirk_short', 'exaone4', [u('q'), a('<think>ab</think>y')], skip_think=False)
case('e4_skip_think_false_no_open_tag', 'exaone4', [u('q'), a('plain reasoning</think>answer</think> final ')], skip_think=False)
case('e4_skip_think_false_reasoning_field', 'exaone4', [u('q'), a('answer only', reasoning_content='따로 준 추론')], skip_think=False)
case('e4_skip_think_false_not_last', 'exaone4', [u('q'), a('<think>\nr\n</think>\n\nA'), u('next')], skip_think=False, enable_thinking=True)
case('e4_skip_think_true_reasoning_field', 'exaone4', [u('q'), a('answer', reasoning_content='hidden')])
case('e4_tool_calls_with_content', 'exaone4', [u('날씨 알려줘'), a('확인해 볼게요.', tool_calls=[{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": {"location": "서울", "days": 3}}}]),
     t('{"temp": 21.5, "sky": "맑음"}'), a('서울은 맑고 21.5도입니다.')], tools=[WEATHER, ROLL])
case('e4_tool_calls_string_arguments', 'exaone4', [u('x'), a('', tool_calls=[{"id": "c1", "type": "function", "function": {"name": "search", "arguments": '{"q": "EXAONE 4.0 \\ub17c\\ubb38", "n": 3.0}'}}])], tools=[SEARCH])
case('e4_tool_calls_parameters_key', 'exaone4', [u('x'), a(None, tool_calls=[{"name": "search", "parameters": {"q": "y"}}, {"name": "roll_dice", "arguments": {}}])])
case('e4_separate_tool_results', 'exaone4', [u('go'), a(None, tool_calls=[CALL6]), t('5'), a(None, tool_calls=[CALL6]), t('1'), t(3), t({"k": [1, 2.5, None]})], tools=[ROLL], enable_thinking=True)
case('e4_tool_result_null', 'exaone4', [u('go'), t(None), {"role": "tool"}])
case('e4_tool_first', 'exaone4', [t('orphan result'), u('q')])
case('e4_nested_korean_tools_with_system', 'exaone4', [s('도구를 사용해 답하세요.'), u('부산 날씨?')], tools=[WEATHER, SEARCH, ROLL])
case('e4_system_later', 'exaone4', [u('a'), a('b'), s('new rules'), u('c')], tools=[ROLL])
case('e4_unknown_role_error', 'exaone4', [u('a'), {"role": "developer", "content": "x"}])
case('e4_missing_role_error', 'exaone4', [{"content": "x"}])
case('e4_empty_contents', 'exaone4', [s(''), u(''), a(''), u('')])
case('e4_no_gen', 'exaone4', [u('a'), a('b')], add_generation_prompt=False)
case('e4_tools_empty_list', 'exaone4', [u('a')], tools=[])
case('e4_scalar_contents', 'exaone4', [u(None), u(True), u(42), u(2.5), {"role": "user"}, s(1e16)])
case('e4_unicode_whitespace_strip', 'exaone4', [u('q'), a('\u3000<think>\u00a0R\u2028\n</think>\u3000A\u00a0\u0085')], skip_think=False)
case('e4_missing_arguments_error', 'exaone4', [u('q'), a(None, tool_calls=[{"function": {"name": "f"}}])])
case('e4_tool_name_raw', 'exaone4', [u('q'), a('x', tool_calls=[{"function": {"name": 'we"ird 이름', "arguments": None}}])])
case('e4_korean_multiturn_think', 'exaone4', [s('한국어로만 답하세요.'), u('안녕?'), a('<think>\n인사에 답한다.\n</think>\n\n안녕하세요!'), u('오늘 뭐 해?')], enable_thinking=True)
case('e4_reasoning_content_ignored_without_content', 'exaone4', [u('q'), a('', reasoning_content='r', tool_calls=[CALL6])], skip_think=False, tools=[ROLL])
case('e4_last_is_tool', 'exaone4', [u('q'), a(None, tool_calls=[CALL6]), t('6')], add_generation_prompt=False, tools=[ROLL])

def jinja_render(kind, c):
    outs = []
    msgs = copy.deepcopy(c['messages'])
    if c.get('parse_string_arguments', True):  # what vLLM does before rendering
        for m in msgs:
            for tc in (m.get('tool_calls') or []) if isinstance(m, dict) else []:
                f = tc.get('function', tc)
                if isinstance(f, dict) and isinstance(f.get('arguments'), str):
                    f['arguments'] = json.loads(f['arguments'])
    kw = dict(messages=msgs, add_generation_prompt=c.get('add_generation_prompt', True))
    if 'tools' in c: kw['tools'] = c['tools']
    if 'enable_thinking' in c: kw['enable_thinking'] = c['enable_thinking']
    if 'skip_think' in c: kw['skip_think'] = c['skip_think']
    for tmpl in TEMPLATES[kind]:
        try:
            outs.append(tmpl.render(**kw))
        except Exception as e:  # noqa: BLE001 — any Jinja/Python error means "the template raises"
            outs.append({'error': f'{type(e).__name__}: {e}'})
    return outs

with tempfile.TemporaryDirectory() as td:
    p = os.path.join(td, 'cases.json')
    json.dump(cases, open(p, 'w'), ensure_ascii=False)
    ours = json.loads(subprocess.run([tool_bin, 'render', p], capture_output=True, check=True).stdout)

golden = json.load(open(os.path.join(tokdir, 'golden-token-ids.json')))['cases']
bad = 0
n_cmp = 0
for c in cases:
    got = ours[c['name']]
    for i, want in enumerate(jinja_render(c['kind'], c)):
        n_cmp += 1
        ok = (isinstance(want, dict) and isinstance(got, dict)) or want == got
        if not ok:
            bad += 1
            print(f"MISMATCH {c['name']} (template {c['kind']}#{i}):\n  jinja: {want!r}\n  ours:  {got!r}")
    if c.get('golden'):
        n_cmp += 1
        if got != golden[c['golden']]['text']:
            bad += 1
            print(f"GOLDEN MISMATCH {c['name']}:\n  golden: {golden[c['golden']]['text']!r}\n  ours:   {got!r}")
n_err = sum(isinstance(ours[c['name']], dict) for c in cases)
print(f'{len(cases)} conversations ({n_err} expected errors), {n_cmp} comparisons with Jinja2/golden: {n_cmp - bad} identical')
sys.exit(1 if bad or len(cases) < 30 else 0)
