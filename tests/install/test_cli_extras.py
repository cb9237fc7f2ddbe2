"""``ronde`` imports an area only when its command runs, and a command whose extra is missing names it.

Each case runs ``ronde`` in a fresh interpreter whose import system refuses the modules an extra brings (a
meta-path finder installed before Ronde is imported), as on a scanner that installed ``ronde[gateway]`` only.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.install.support import DASHBOARDS_MODULES, DEMO_MODULES, NOT_ON_A_SCANNER, REPO, SERVER_MODULES

RUN_BLOCKED = r"""
import importlib.abc, sys
blocked = set(sys.argv[1].split(",")) - {""}
attempts = []

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in blocked):
            attempts.append(name)
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Refuse())
try:
    from ronde.cli import main
    code = main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
finally:
    loaded = sorted(m for m in sys.modules if m.startswith("ronde.") and m.endswith(".cli") and m != "ronde.cli")
    print("refused:" + ",".join(attempts), file=sys.stderr)
    print("areas:" + ",".join(loaded), file=sys.stderr)
sys.exit(code)
"""


def ronde_without(blocked: tuple[str, ...], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUN_BLOCKED, ",".join(blocked), *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _line(stderr: str, prefix: str) -> list[str]:
    value = next(ln for ln in stderr.splitlines() if ln.startswith(prefix))[len(prefix) :]
    return [v for v in value.split(",") if v]


def test_top_level_help_lists_every_command_and_imports_no_area() -> None:
    proc = ronde_without(NOT_ON_A_SCANNER, "--help")
    assert proc.returncode == 0, proc.stderr
    for command in ("estate", "gateway", "sim", "ingest", "api", "dashboards", "audit", "demo"):
        assert command in proc.stdout
    assert _line(proc.stderr, "areas:") == []


def test_gateway_help_works_without_the_server_packages() -> None:
    for argv in (("gateway", "--help"), ("gateway", "run", "--help"), ("-v", "gateway", "enroll", "--help")):
        proc = ronde_without(NOT_ON_A_SCANNER, *argv)
        assert proc.returncode == 0, proc.stderr
        assert "usage: ronde gateway" in proc.stdout
        assert _line(proc.stderr, "refused:") == []  # not even attempted
        assert _line(proc.stderr, "areas:") == ["ronde.gateway.cli"]


def test_gateway_commands_run_without_the_server_packages(tmp_path: Path) -> None:
    key = tmp_path / "gw.key"
    proc = ronde_without(NOT_ON_A_SCANNER, "gateway", "enroll", "--gateway-id", "gw-01", "--key-file", str(key))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("gateway_id: gw-01\npublic_key: ")
    proc = ronde_without(NOT_ON_A_SCANNER, "gateway", "check-config", str(REPO / "deploy/gateway.example.toml"))
    assert proc.returncode == 0, proc.stderr
    assert ": ok: gateway " in proc.stdout
    assert _line(proc.stderr, "refused:") == []


def test_a_server_command_without_the_server_extra_names_it() -> None:
    proc = ronde_without(SERVER_MODULES, "api", "serve", "--store", "sqlite:///nonexistent.db")
    assert proc.returncode == 2
    assert "ronde api needs the 'server' extra: pip install 'ronde[server]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_pdf_report_without_the_server_extra_names_it(tmp_path: Path) -> None:
    proc = ronde_without(
        ("fpdf",),
        "audit",
        "report",
        "--landlord",
        "x",
        "--from",
        "2026-03-04",
        "--to",
        "2026-03-05",
        "--store",
        str(tmp_path / "none.db"),
        "--out",
        str(tmp_path / "r.pdf"),
    )
    assert proc.returncode == 2
    assert "'server' extra" in proc.stderr or "no such store file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_demo_without_its_extra_names_it() -> None:
    proc = ronde_without(DEMO_MODULES, "demo", "--no-serve")
    assert proc.returncode == 2
    assert "ronde demo needs the 'demo' extra: pip install 'ronde[demo]'" in proc.stderr
    assert "(no module named 'amqtt')" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_dashboards_push_without_its_extra_names_it_and_generate_needs_none(tmp_path: Path) -> None:
    proc = ronde_without(DASHBOARDS_MODULES, "dashboards", "push", "--url", "http://127.0.0.1:9")
    assert proc.returncode == 2
    assert "ronde dashboards needs the 'dashboards' extra: pip install 'ronde[dashboards]'" in proc.stderr
    proc = ronde_without(DASHBOARDS_MODULES, "dashboards", "generate", "--out", str(tmp_path / "d"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "d").is_dir()


def test_a_missing_module_of_ronde_itself_is_a_bug_not_an_extra() -> None:
    proc = ronde_without(("ronde.gateway",), "gateway", "--help")
    assert proc.returncode != 2 or "extra" not in proc.stderr
    assert "ModuleNotFoundError" in proc.stderr


def test_dashboards_push_runs_in_its_own_environment_without_the_settings_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The push's image holds the ``dashboards`` extra only (no pydantic-settings, no SQLAlchemy): Grafana's URL
    and token from the variables, the registry from an exported estate file (docs/deploy.md)."""
    from ronde.protocol.estate import default_estate_path
    from tests.dashboards.grafana_standin import run_grafana_standin

    monkeypatch.delenv("RONDE_GRAFANA_TOKEN", raising=False)
    monkeypatch.delenv("RONDE_CONFIG", raising=False)
    blocked = ("pydantic_settings", "sqlalchemy")
    with run_grafana_standin() as (url, state):
        argv = ("dashboards", "push", "--estate", str(default_estate_path()))
        proc = ronde_without(blocked, *argv)
        assert proc.returncode == 2
        assert "dashboards.grafana_url and dashboards.grafana_token are required" in proc.stderr
        monkeypatch.setenv("RONDE_GRAFANA_URL", url)
        monkeypatch.setenv("RONDE_GRAFANA_TOKEN", "test-token")
        proc = ronde_without(blocked, *argv)
        assert proc.returncode == 0, proc.stderr
        assert state.writes()
        assert _line(proc.stderr, "areas:") == ["ronde.dashboards.cli"]
