#!/usr/bin/python3
"""check_chat_tty.py — interactive `exaone chat` line editing in a real terminal: tmux (fixed
100x30 pane, UTF-8) runs the chat on a tiny random EXAONE 4.0 model with the real tokenizer;
Hangul is typed with send-keys and edited with BSpace / Left / Right / Home / End, history is
recalled with Up / Down. After each edit the pane must show exactly the prompt line a
width-correct editor draws (Hangul = 2 columns, a wide character that does not fit the last
column moves to the next row) with the cursor where it belongs; the conversation saved with
/save must hold exactly the edited user turns. Also: a non-UTF-8 locale (LANG=C) falls back to
C.UTF-8, Ctrl-C stops an answer being written, Ctrl-C at the prompt and Ctrl-D quit with
status 0. Skips (77) without tmux.
Usage: check_chat_tty.py PATH/TO/exaone   (env EXA_SHARED = shared folder)"""
import json, os, shlex, shutil, subprocess, sys, tempfile, time, unicodedata

if not shutil.which('tmux'):
    print('SKIP: tmux not installed')
    sys.exit(77)

exe = os.path.abspath(sys.argv[1])
shared = os.environ.get('EXA_SHARED') or os.path.join(os.path.dirname(__file__), '../../../shared')
tokdir = os.path.join(shared, 'data/exaone-tokenizer/exaone-4.0')
W, H = 100, 30
bad = 0
n_checks = 0


def check(ok, msg):
    global bad, n_checks
    n_checks += 1
    if not ok:
        bad += 1
        print('FAIL', msg)
    return ok


td = tempfile.mkdtemp(prefix='exa_tty_')
env = {k: v for k, v in os.environ.items() if not k.startswith('LC_') and k not in ('TMUX', 'TMUX_PANE')}
env.update(TMUX_TMPDIR=td, LANG='C.UTF-8', HOME=td)
sock = 'exa_chat_tty'


def tmux(*args, check_rc=True):
    r = subprocess.run(['tmux', '-L', sock, '-f', '/dev/null'] + list(args), env=env, capture_output=True, timeout=20)
    if check_rc and r.returncode:
        raise RuntimeError(f'tmux {args}: {r.stderr.decode()}')
    return r.stdout.decode('utf-8', 'replace')


def layout(s):
    """Rows of text and the (row, col) of each character position 0..len(s) for "> " + s on a
    W-column terminal, as a width-correct editor draws it."""
    rows, row, col, pos = [[]], 0, 0, []
    for i, ch in enumerate('> ' + s):
        w = 2 if unicodedata.east_asian_width(ch) in 'WF' else 1
        if col + w > W:
            rows.append([])
            row, col = row + 1, 0
        if i >= 2:
            pos.append((row, col))
        rows[-1].append(ch)
        col += w
    pos.append((row, col) if col < W else (row + 1, 0))
    return [''.join(r) for r in rows], pos


class Session:
    def __init__(self, name, args, lang):
        self.name, self.rc = name, os.path.join(td, name + '.rc')
        cmd = (f'env -u LC_ALL LANG={lang} HOME={shlex.quote(td)} {shlex.quote(exe)} chat {" ".join(map(shlex.quote, args))}'
               f'; echo $? > {shlex.quote(self.rc)}; sleep 60')
        tmux('-u', 'new-session', '-d', '-s', name, '-x', str(W), '-y', str(H), cmd)
        self.answers = 0
        self.wait(lambda: self.at_prompt(), 'the first prompt')

    def screen(self):
        return tmux('capture-pane', '-p', '-t', self.name).split('\n')[:H]

    def cursor(self):
        x, y = tmux('display', '-p', '-t', self.name, '#{cursor_x} #{cursor_y}').split()
        return int(x), int(y)

    def history_text(self):
        return tmux('capture-pane', '-p', '-J', '-S', '-', '-t', self.name)

    def at_prompt(self):
        sc = [l.rstrip() for l in self.screen()]
        x, y = self.cursor()
        return y < len(sc) and sc[y] == '>' and x == 2

    def wait(self, pred, what, timeout=15):
        t0 = time.time()
        while time.time() - t0 < timeout:
            if pred():
                return True
            time.sleep(0.03)
        check(False, f'{self.name}: timed out waiting for {what}; screen:\n' + '\n'.join(self.screen()))
        return False

    def keys(self, *keys):
        tmux('send-keys', '-t', self.name, *keys)

    def type(self, text):
        tmux('send-keys', '-t', self.name, '-l', text)

    def expect_line(self, text, cur, what):
        """The input line shows exactly "> " + text, nothing broken, cursor before character cur."""
        rows, pos = layout(text)
        state = {}

        def ok():
            sc = [l.rstrip() for l in self.screen()]
            x, y = self.cursor()
            r, c = pos[cur]
            top = y - r
            state['seen'] = sc[max(top, 0):top + len(rows)], (x, y), top
            return top >= 0 and sc[top:top + len(rows)] == [l.rstrip() for l in rows] and x == c and \
                all(l.strip() == '' for l in sc[top + len(rows):])

        if not self.wait(ok, f'{what}: line {text!r} cursor at {cur}', timeout=5):
            print('  expected rows', rows, 'cursor', pos[cur], '\n  seen', state.get('seen'))
        scr = '\n'.join(self.screen())
        check('\ufffd' not in scr, f'{what}: replacement character on screen')

    def enter_and_wait_answer(self, what):
        n = self.history_text().count('[prompt ')
        self.keys('Enter')
        self.wait(lambda: self.history_text().count('[prompt ') > n and self.at_prompt(), f'the answer to {what}')

    def command(self, text, done_marker):
        self.type(text)
        self.expect_line(text, len(text), text)
        self.keys('Enter')
        self.wait(lambda: done_marker in self.history_text() and self.at_prompt(), f'{text} to finish')

    def exit_status(self):
        st = {}

        def done():
            if os.path.exists(self.rc):
                st['rc'] = open(self.rc).read().strip()
            return st.get('rc', '') != ''

        self.wait(done, 'the chat to exit')
        return st.get('rc')


def saved_users(path):
    conv = json.load(open(path))
    return [t['content'] for t in conv if t['role'] == 'user'], [t['role'] for t in conv]


t_start = time.time()
try:
    model = os.path.join(td, 'm')
    r = subprocess.run([exe, 'random-model', '--shape', 'tiny-exaone4', '--vocab', '102400', '--tokenizer', tokdir,
                        '--out', model], capture_output=True, timeout=120)
    if r.returncode:
        print('FAIL random-model:', r.stderr.decode())
        sys.exit(1)

    # --- session A: UTF-8 locale, short answers: editing, history, /save, Ctrl-D
    a = Session('a', ['-m', model, '-n', '4', '--temp', '0', '-t', '1', '--ctx', '2048'], 'C.UTF-8')
    a.type('안녕하세오')
    a.expect_line('안녕하세오', 5, 'typed')
    a.keys('BSpace')
    a.expect_line('안녕하세', 4, 'BSpace')
    a.type('요')
    a.expect_line('안녕하세요', 5, 'retyped')
    a.enter_and_wait_answer('turn 1')

    a.type('한국')
    a.keys('Left', 'Left')
    a.expect_line('한국', 0, 'Left Left')
    a.type('대')
    a.expect_line('대한국', 1, 'insert before')
    a.keys('Right')
    a.expect_line('대한국', 2, 'Right')
    a.enter_and_wait_answer('turn 2')

    a.type('가다')
    a.keys('Home')
    a.expect_line('가다', 0, 'Home')
    a.keys('Right')
    a.type('나')
    a.expect_line('가나다', 2, 'Right + insert')
    a.keys('End')
    a.expect_line('가나다', 3, 'End')
    a.type('라')
    a.expect_line('가나다라', 4, 'append')
    a.enter_and_wait_answer('turn 3')

    # a line longer than the terminal: one ASCII letter puts every Hangul syllable on an odd
    # column, so the 49th does not fit column 99 and must start the next row
    long = 'a' + '한' * 60
    a.type(long)
    a.expect_line(long, len(long), 'wrapped line')
    a.keys(*['BSpace'] * 5)
    long = long[:-5]
    a.expect_line(long, len(long), 'BSpace on the wrapped line')
    a.keys('Home')
    a.expect_line(long, 0, 'Home on the wrapped line')
    a.type('글')
    long = '글' + long
    a.expect_line(long, 1, 'insert at the start of the wrapped line')
    a.keys('End')
    a.expect_line(long, len(long), 'End on the wrapped line')
    a.enter_and_wait_answer('turn 4')

    s1 = os.path.join(td, 's1.json')
    a.command('/save ' + s1, '(saved ' + s1)
    users, _ = saved_users(s1)
    check(users == ['안녕하세요', '대한국', '가나다라', long], f'saved user turns {users!r}')

    # history: /save, turn 4, turn 3, turn 2 ... then Down to the newer one and Up again
    a.keys('Up')
    a.expect_line('/save ' + s1, len('/save ' + s1), 'Up 1')
    a.keys('Up', 'Up', 'Up')
    a.expect_line('대한국', 3, 'Up 4')
    a.keys('Down')
    a.expect_line('가나다라', 4, 'Down')
    a.keys('Up')
    a.expect_line('대한국', 3, 'Up again')
    a.enter_and_wait_answer('recalled turn')
    a.keys('Up')
    a.expect_line('대한국', 3, 'Up recalls the recalled line')
    a.keys('BSpace')
    a.type('민국')
    a.expect_line('대한민국', 4, 'edit a recalled line')
    a.enter_and_wait_answer('edited recalled turn')
    s2 = os.path.join(td, 's2.json')
    a.command('/save ' + s2, '(saved ' + s2)
    users, roles = saved_users(s2)
    check(users == ['안녕하세요', '대한국', '가나다라', long, '대한국', '대한민국'], f'saved user turns after recall {users!r}')
    check(roles == ['user', 'assistant'] * 6, f'roles {roles}')
    a.keys('C-d')
    check(a.exit_status() == '0', 'Ctrl-D at the prompt quits with status 0')

    # --- session B: LANG=C (falls back to C.UTF-8), a long answer stopped by Ctrl-C, Ctrl-C at the prompt
    b = Session('b', ['-m', model, '-n', '1000000', '--temp', '0', '-t', '1', '--ctx', '4096'], 'C')
    b.type('한국어')
    b.keys('BSpace')
    b.expect_line('한국', 2, 'LANG=C: BSpace')
    n0 = b.history_text().count('\n')
    b.keys('Enter')
    time.sleep(0.5)
    b.keys('C-c')
    b.wait(lambda: '(answer stopped)' in b.history_text() and b.at_prompt(), 'Ctrl-C to stop the answer')
    s3 = os.path.join(td, 's3.json')
    b.command('/save ' + s3, '(saved ' + s3)
    users, roles = saved_users(s3)
    check(users == ['한국'] and roles == ['user', 'assistant'], f'LANG=C session saved {roles} {users!r}')
    b.type('abc')
    b.expect_line('abc', 3, 'before Ctrl-C at the prompt')
    b.keys('C-c')
    check(b.exit_status() == '0', 'Ctrl-C at the prompt quits with status 0')
finally:
    tmux('kill-server', check_rc=False)
    shutil.rmtree(td, ignore_errors=True)

print(f'{n_checks - bad}/{n_checks} terminal chat checks passed ({time.time() - t_start:.1f} s)')
sys.exit(1 if bad else 0)
