#!/usr/bin/env bash
# Mutation testing of the core modules (mutmut), one group at a time; not part of CI.
# Usage: bash scripts/mutation.sh [GROUP ...]     e.g. bash scripts/mutation.sh gains fans
# Needs the dev environment (bash scripts/test.sh once) and mutmut (installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "run 'bash scripts/test.sh' first to create .venv" >&2; exit 2; }
.venv/bin/python -m pip install -q 'mutmut==3.8.1'
PATH="$PWD/.venv/bin:$PATH" exec .venv/bin/python scripts/mutation.py "$@"
