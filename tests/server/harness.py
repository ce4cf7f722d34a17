"""harness.py — shared helpers for the server tests (python3 stdlib only): make the tiny
random-weight EXAONE 4.0 model with the real tokenizer, start `exaone serve` on a free port,
talk HTTP/SSE to it, read its RSS. Used by e2e_test.py, load_test.py and run_with_server.py."""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time


def make_model(exaone, out_dir, shape="tiny-exaone4", dtype=None):
    shared = os.environ.get("EXA_SHARED", os.path.join(os.path.dirname(__file__), "../../../shared"))
    tok = os.path.join(shared, "data/exaone-tokenizer/exaone-4.0")
    if not os.path.exists(os.path.join(out_dir, "config.json")):
        cmd = [exaone, "random-model", "--shape", shape, "--vocab", "102400", "--tokenizer", tok, "--out", out_dir]
        if dtype:
            cmd += ["--dtype", dtype]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return out_dir


class Server:
    def __init__(self, exaone, model, *args):
        self.proc = subprocess.Popen([exaone, "serve", "-m", model, "--port", "0", *args],
                                     stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        line = self.proc.stderr.readline()
        m = re.search(r"http://([^:]+):(\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("server did not start: " + line + self.proc.stderr.read())
        self.host, self.port = m.group(1), int(m.group(2))
        self.url = "http://%s:%d" % (self.host, self.port)

    def conn(self, timeout=60):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, raw=None, timeout=60):
        c = self.conn(timeout)
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        payload = r.read()
        c.close()
        try:
            js = json.loads(payload)
        except ValueError:
            js = None
        return r.status, js, payload

    def stream(self, path, body, headers=None, max_events=None, timeout=60):
        """POSTs with stream=true; returns (status, events[json], saw_done). Stops early (closing
        the socket) after max_events events."""
        c = self.conn(timeout)
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        c.request("POST", path, body=json.dumps(body).encode(), headers=h)
        r = c.getresponse()
        if r.status != 200:
            payload = r.read()
            c.close()
            return r.status, [json.loads(payload)], False
        events, done, buf = [], False, b""
        while True:
            line = r.readline()
            if not line:
                break
            if line in (b"\n", b"\r\n"):
                continue
            assert line.startswith(b"data: "), line
            data = line[6:].strip()
            if data == b"[DONE]":
                done = True
                continue
            events.append(json.loads(data))
            if max_events is not None and len(events) >= max_events:
                break
        c.close()
        return r.status, events, done

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def metric(self, name):
        _, _, payload = self.request("GET", "/metrics")
        for line in payload.decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Checker:
    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, cond, msg):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL:", msg, file=sys.stderr)
        return cond

    def end(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0
