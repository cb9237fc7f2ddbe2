"""Layers: a module of ``ronde/<area>`` never imports a module of a later stage.

The stages and the reason for their order are in docs/architecture.md. Every import counts: at
module level, inside functions, under ``if TYPE_CHECKING``, relative ones, and dynamic ones
(``importlib.import_module("ronde.x")`` or a lazy-import table: any string constant that is exactly
the dotted name of a ``ronde`` module). Areas of the same stage are siblings: neither imports the
other. A failure lists every violation as ``file:line``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ronde"

STAGES: tuple[tuple[str, ...], ...] = (
    ("protocol", "redact", "__init__"),  # wire contracts and pure helpers every process shares
    ("gateway",),  # the scanner: BLE frames → visits → signed events → MQTT
    ("firmware_sim",),  # virtual beacons driving the real gateway pipeline
    ("store",),  # the port and records ingest writes to, and the engines behind it
    ("opdb",),  # the operational database: what *is*, read by ingest workers and the API, so below both
    ("coverage",),  # coverage maths over stored records, and reading them from a Store
    ("settings",),  # the one settings model of every server role (store's retention, coverage's defaults)
    ("ingest", "audit", "dashboards"),  # the writer (rollups use coverage), landlords' proof, Grafana
    ("notify",),  # ronde notify run: bilans issued and sent, alerts (reads audit; the API reads its tables, not it)
    ("api",),  # HTTP: registry, coverage, supervision, audits, pages
    ("demo",),  # everything at once, embedded
    ("cli",),  # ``ronde``: dispatches to every area's command
)
STAGE = {area: i for i, areas in enumerate(STAGES) for area in areas}

# (importing file, imported area): why it is allowed for now. An entry whose file no longer imports it fails.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("ronde/store/cli.py", "ingest"): "`ronde store init` reads the ingest configuration file (one source for "
    "retention); to go when that file's model moves below the store",
}


def _area(path: Path) -> str:
    first = path.relative_to(PACKAGE).parts[0]
    return first.removesuffix(".py")


def _modules() -> set[str]:
    out = set()
    for p in PACKAGE.rglob("*.py"):
        parts = p.relative_to(ROOT).with_suffix("").parts
        out.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def _imports(source: str, module: str, *, is_package: bool, modules: set[str]) -> list[tuple[int, str]]:
    """(line, dotted name) of every ``ronde`` module the code ``source`` of ``module`` imports, however."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if name == "ronde":  # from ronde import store
                found += [(node.lineno, f"ronde.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, name))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in modules:
            found.append((node.lineno, node.value))  # import_module("ronde.x"), lazy-import tables
    return [(line, m) for line, m in found if m.startswith("ronde.")]


def _imports_of_file(path: Path, modules: set[str]) -> list[tuple[int, str]]:
    parts = path.relative_to(ROOT).with_suffix("").parts
    is_package = parts[-1] == "__init__"
    module = ".".join(parts[:-1] if is_package else parts)
    return _imports(path.read_text(encoding="utf-8"), module, is_package=is_package, modules=modules)


def test_every_area_has_a_stage() -> None:
    areas = {_area(p) for p in PACKAGE.rglob("*.py")}
    unknown = sorted(areas - set(STAGE))
    assert not unknown, f"place these areas in tests/test_layers.py STAGES and docs/architecture.md: {unknown}"


def test_no_module_imports_a_later_stage() -> None:
    modules = _modules()
    violations: list[str] = []
    used: set[tuple[str, str]] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        area = _area(path)
        if area not in STAGE:
            continue  # reported by test_every_area_has_a_stage
        rel = path.relative_to(ROOT).as_posix()
        for line, module in _imports_of_file(path, modules):
            parts = module.split(".")
            if len(parts) < 2:
                continue
            other = parts[1]
            if other == area or other not in STAGE:
                continue
            if STAGE[other] < STAGE[area]:
                continue
            if (rel, other) in EXCEPTIONS:
                used.add((rel, other))
                continue
            kind = "a sibling" if STAGE[other] == STAGE[area] else "a later"
            violations.append(
                f"{rel}:{line}: {area} (stage {STAGE[area]}) imports {module}, {kind} stage "
                f"({other}, stage {STAGE[other]})"
            )
    assert not violations, "imports against the layers (docs/architecture.md):\n" + "\n".join(violations)
    stale = sorted(e for e in set(EXCEPTIONS) - used if (ROOT / e[0]).exists())
    assert not stale, f"these EXCEPTIONS no longer occur: remove them: {stale}"


def test_the_checker_sees_every_kind_of_import() -> None:
    source = (
        "import ronde.api.app\n"
        "from ronde import audit\n"
        "from ..store import port\n"
        "from . import eid\n"
        "def f():\n"
        "    from ronde.ingest.config import load_config\n"
        "    return importlib.import_module('ronde.coverage.query')\n"
    )
    found = _imports(source, "ronde.protocol.m", is_package=False, modules={"ronde.coverage.query"})
    assert [m for _, m in found] == [
        "ronde.api.app",
        "ronde.audit",
        "ronde.store",
        "ronde.protocol",
        "ronde.ingest.config",
        "ronde.coverage.query",
    ]
