#!/usr/bin/env bash
# Creates .venv and installs Ronde (editable) with its dev tools. Needs only python3 ≥ 3.11.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if [ ! -f .venv/.ronde-installed ] || [ pyproject.toml -nt .venv/.ronde-installed ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[dev]"
  touch .venv/.ronde-installed
fi
