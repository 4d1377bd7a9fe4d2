#!/usr/bin/env bash
# Creates ./.venv with Python >= 3.11 and installs Tijarat into it (editable), once per
# change of pyproject.toml. Sourced by ./run and ./run-tests; $1 is the extra ("" or "dev").
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
extra=${1:-}
python=""
for candidate in python3.11 python3.12 python3.13 python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    python=$candidate
    break
  fi
done
if [ -z "$python" ]; then
  echo "Tijarat needs Python 3.11 or newer on PATH." >&2
  exit 1
fi
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
stamp="$venv/.tijarat-installed${extra:+-$extra}"
want=$(cat "$root/pyproject.toml" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -e "$root${extra:+[$extra]}"
  echo "$want" >"$stamp"
fi
export PATH="$venv/bin:$PATH"
