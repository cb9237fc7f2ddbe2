#!/usr/bin/env bash
# Installs the Debian packages the tests run for real (not mocks) and the Python venv.
# Idempotent: skips what is already there. Needs root (or sudo) for apt on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v mosquitto >/dev/null || need+=(mosquitto)
command -v influxd >/dev/null || need+=(influxdb)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v dbus-daemon >/dev/null || need+=(dbus)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing Debian packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian's influxdb package may start a system influxd on 8086; tests start their own on free ports.
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import ronde, pytest, bluezoo" 2>/dev/null || [ pyproject.toml -nt .venv/.ronde-installed ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[dev]"
  touch .venv/.ronde-installed
fi
