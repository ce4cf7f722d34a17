"""run_with_server.py — starts `exaone serve` on the tiny test model (free port, API key
"test-key"), runs a command with EXA_SERVER_URL / EXA_API_KEY / EXA_MODEL set, stops the
server with SIGTERM and returns the command's exit code (77 = skipped when the command's
runtime or its npm packages are missing).
usage: run_with_server.py EXAONE_BINARY WORK_DIR CMD..."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server, make_model  # noqa: E402

exaone, work, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
if not shutil.which(cmd[0]):
    print("skipped: %s not found" % cmd[0])
    sys.exit(77)
node_path = os.environ.get("NODE_PATH", "")
if cmd[0] == "node" and not os.path.isdir(os.path.join(node_path, "openai")):
    print("skipped: npm package 'openai' not installed (scripts/setup.sh --tests)")
    sys.exit(77)
model = make_model(exaone, os.path.join(work, "tiny-sdk"))
s = Server(exaone, model, "--api-key", "test-key", "--parallel", "4", "--ctx", "2048", "-t", "2")
try:
    env = dict(os.environ, EXA_SERVER_URL=s.url, EXA_API_KEY="test-key", EXA_MODEL="tiny-sdk")
    rc = subprocess.run(cmd, env=env).returncode
finally:
    src = s.stop()
if src != 0:
    print("server exit code %s" % src)
    rc = rc or 1
sys.exit(rc)
