#!/usr/bin/env bash
# Creates .venv and installs Ronde (editable) with every extra and the dev tools, at the versions pinned in
# requirements/dev.txt (the lock: `make lock`). Needs only python3 ≥ 3.11. Idempotent: installs again only
# when pyproject.toml or the lock changed.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 scripts/lock.py --check
if [ ! -x .venv/bin/python ]; then
  echo "setup-venv: creating .venv (the first time takes a minute or two; progress below)"
  python3 -m venv .venv
fi
# pip's own output, one line per distribution collected, numbered (the whole log: .venv/pip.log)
progress() {
  tee -a .venv/pip.log | awk '
    /^Collecting / { n++; printf "  [%3d] %s\n", n, $2; fflush() }
    /^Building wheel for / { printf "        building %s\n", $4; fflush() }
    /^Installing collected packages/ { printf "  installing %d distributions (the longest step: a minute or so, no output)…\n", n; fflush() }
    /^Successfully installed/ { print "  done"; fflush() }
    /^(ERROR|error):/ { print; fflush() }'
}
stamp="$(cat pyproject.toml requirements/dev.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat .venv/.ronde-installed 2>/dev/null)" != "$stamp" ]; then
  : > .venv/pip.log
  echo "setup-venv: installing Ronde and its locked dependencies into .venv"
  .venv/bin/pip install -q --upgrade pip
  # grafana-client (the dashboards extra) brings niquests, whose urllib3-future wheel replaces the urllib3
  # package at every interpreter start (urllib3_future.pth). Built from its sdist with URLLIB3_NO_OVERRIDE=1 it
  # keeps to its own package, so the tests run influxdb-client on the real urllib3, as the server image does.
  # A venv where the wheel already took over urllib3 gets the real one back first.
  if compgen -G ".venv/lib/python3*/site-packages/urllib3_future.pth" >/dev/null; then
    .venv/bin/pip uninstall -q -y urllib3-future
    .venv/bin/pip install -q --force-reinstall --no-deps -c requirements/dev.txt urllib3
  fi
  if ! URLLIB3_NO_OVERRIDE=1 .venv/bin/pip install --progress-bar off --no-binary urllib3-future \
      -c requirements/dev.txt -e ".[all,dev]" 2>&1 | progress; then
    echo "setup-venv: pip failed; its last lines (whole log: .venv/pip.log):" >&2
    tail -n 30 .venv/pip.log >&2
    exit 1
  fi
  echo "$stamp" > .venv/.ronde-installed
  echo "setup-venv: .venv ready"
fi
