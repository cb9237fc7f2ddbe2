#!/usr/bin/env bash
# Installs and starts what the tests run for real (not mocks): Debian's mosquitto, influxdb (1.6.7),
# chromium + chromedriver, dbus, postgresql (initdb/pg_ctl); then the venv. Idempotent. Needs root (or sudo) on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v mosquitto >/dev/null || need+=(mosquitto)
command -v influxd >/dev/null || need+=(influxdb)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v dbus-daemon >/dev/null || need+=(dbus)
[ -d /usr/share/fonts/truetype/dejavu ] || need+=(fonts-dejavu-core)
# the audit PDF test renders pages with poppler (pdftoppm, pdftotext); the accessibility test fetches
# axe-core from the npm registry once (tests/support/axe.py)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
command -v npm >/dev/null || need+=(npm)
# PostgreSQL's server binaries (initdb, pg_ctl): the operational-database tests start their own cluster
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing Debian packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Tests start their own mosquitto/influxd on free ports; a system broker on 1883 is started if absent
# (some tools and the README's examples use it).
if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  mosquitto -d -p 1883 2>/dev/null || echo "note: could not start a mosquitto on 1883 (tests do not need it)"
fi
scripts/setup-venv.sh
# axe-core into ~/.cache/ronde (once; the accessibility tests read it there)
.venv/bin/python -m tests.support.axe || echo "note: could not fetch axe-core now; the accessibility tests will try again"
