#!/usr/bin/env bash
# setup.sh — idempotent set-up of a fresh Debian machine for exaone.c: installs the Debian
# packages listed in scripts/deps.txt that are missing (nothing if all are there), then the
# npm packages the tests compare against (tests/node). Safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
while read -r pkg _; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  # nodejs/npm may come from outside Debian on some images: a working binary is enough.
  if [[ "$pkg" == nodejs ]] && command -v node >/dev/null; then continue; fi
  if [[ "$pkg" == npm ]] && command -v npm >/dev/null; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then need+=("$pkg"); fi
done < scripts/deps.txt
if ((${#need[@]})); then
  echo "setup: installing Debian packages: ${need[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [[ "${1:-}" == "--tests" && -f tests/node/package.json ]]; then
  if [[ ! -d tests/node/node_modules ]] || [[ tests/node/package.json -nt tests/node/node_modules ]]; then
    echo "setup: installing npm test dependencies (tests/node)"
    (cd tests/node && npm ci --no-audit --no-fund --loglevel=error) && touch tests/node/node_modules
  fi
fi
