#!/usr/bin/env bash
# kill_add.sh EXAONE — `kill -9` during `exaone index add` leaves a consistent database, and a
# re-run completes the work: 120 generated Korean/English files are ingested, the process is
# killed at several moments, `exaone index check` must pass after each kill, and a final run
# must index every file exactly once and find a passage of the last file.
set -euo pipefail
bin=$1
tmp=$(mktemp -d /tmp/exa_kill_add.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$tmp/docs" <<'PY'
import os, random, sys
out = sys.argv[1]; os.makedirs(out)
rng = random.Random(7)
syl = [chr(0xAC00 + rng.randrange(11172)) for _ in range(400)]
eng = "river mountain signal harbor lantern copper meadow violet engine orbit".split()
for i in range(120):
    paras = []
    for p in range(40):
        sents = []
        for s in range(6):
            words = ["".join(rng.choice(syl) for _ in range(rng.randint(1, 4))) for _ in range(8)]
            sents.append(" ".join(words) + "다. " + " ".join(rng.choice(eng) for _ in range(5)) + ".")
        paras.append(" ".join(sents))
    paras.append(f"marker{i:03d} 표지 문장 {i}번.")
    with open(os.path.join(out, f"doc{i:03d}.txt"), "w") as f:
        f.write("\n\n".join(paras) + "\n")
PY
db="$tmp/index.db"
for delay in 0.3 0.9 1.7 2.6; do
  "$bin" index add "$db" "$tmp/docs" --quiet &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [[ -f "$db" ]]; then
    "$bin" index check "$db" || { echo "FAIL: inconsistent after kill at ${delay}s"; exit 1; }
    n=$("$bin" index ls "$db" | wc -l)
    echo "killed after ${delay}s: $n documents, consistent"
  fi
done
"$bin" index add "$db" "$tmp/docs" --quiet
"$bin" index check "$db"
n=$("$bin" index ls "$db" | wc -l)
[[ "$n" == 120 ]] || { echo "FAIL: $n documents after the re-run, want 120"; exit 1; }
bad=$("$bin" index ls "$db" | awk '$2 == 0' | wc -l)
[[ "$bad" == 0 ]] || { echo "FAIL: $bad documents without chunks"; exit 1; }
"$bin" index search "$db" "marker119 표지" -k 1 --json | grep -q '"path":"[^"]*doc119.txt"' ||
  { echo "FAIL: marker of the last file not found"; exit 1; }
echo "1 passed, 0 failed"
