"""YAML bombs and hostile names against every YAML file Ronde reads (issue 11, items 11 and 13).

One bounded loader (``ronde.protocol.safe_yaml``) serves the estate file (``ronde estate check``,
the API's estate import, ``ronde registry import``), the gateways file, the tokens and badges
files (the server roles' settings are TOML: tests/hostile/test_settings_files.py). Each bomb must
be refused fast, in bounded memory, with a message naming the limit, the file and the line where
there is one; never a crash, a RecursionError or a 500. Names with control characters are refused
where the registry files are read.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from ronde.api.auth import TokenFileError, read_token_file
from ronde.api.registry_service import load_badges
from ronde.opdb.engine import make_engine
from ronde.opdb.migrate import upgrade
from ronde.opdb.registry_repo import RegistryRepository
from ronde.protocol import safe_yaml
from ronde.protocol.estate import EstateFileError, default_estate_path, parse_estate
from ronde.protocol.gateways import GatewaysFileError, load_gateways, parse_gateways
from ronde.protocol.safe_yaml import MAX_ALIASES, MAX_BYTES, MAX_DEPTH, MAX_NODES, YamlLimitError, YamlLimits
from tests.api.support import auth, make_app

ADMIN = auth("tok-admin")
SAMPLE = default_estate_path().read_text(encoding="utf-8")
MEMORY_CAP = 512 * 1024 * 1024  # RLIMIT_AS of the child processes below: an expanded bomb needs gigabytes


def laughs(levels: int = 9, width: int = 9) -> str:
    """The billion-laughs document: each level is ``width`` aliases to the previous one."""
    names = "abcdefghijklmnopqrstuvwxyz"
    lines = ['a: &a "lol"']
    lines.extend(
        f"{names[i]}: &{names[i]} [" + ",".join([f"*{names[i - 1]}"] * width) + "]" for i in range(1, levels + 1)
    )
    return "\n".join(lines) + "\n"


BOMB = laughs()  # 9**9 = 387,420,489 "lol" once expanded, from 335 bytes
DEEP_SEQ = "[" * 100_000
DEEP_MAP = "{" * 100_000
DEEP_BLOCK = "- " * 100_000  # block sequences nested on one line: the indentation stack, not flow


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run Python in a child with its address space capped: a bomb that expanded would die there, not here."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=_limit_memory,
        check=False,
    )


# ---- the loader itself ---------------------------------------------------------------------------------


def test_the_bomb_is_small_and_real() -> None:
    """The document is a genuine bomb (a few hundred bytes, hundreds of millions of nodes expanded), and
    the same shape with a few levels is ordinary YAML the loader reads: aliases are bounded, not banned."""
    assert len(BOMB.encode()) < 400
    small = safe_yaml.safe_load(laughs(levels=3), "small.yaml")
    assert small["d"][8][8][8] == "lol"
    assert len(small["d"]) == 9


def test_billion_laughs_is_refused_fast_in_bounded_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB)
    script = textwrap.dedent(
        f"""
        import sys, time
        from ronde.protocol import safe_yaml
        t = time.perf_counter()
        try:
            data = safe_yaml.load_file({str(bomb)!r})
        except safe_yaml.YamlLimitError as exc:
            took = time.perf_counter() - t
            # VmHWM is this program's own peak: ru_maxrss would keep the forking pytest's peak across exec
            status = open('/proc/self/status').read().split('VmHWM:')[1]
            rss_mb = int(status.split()[0]) // 1024
            print(exc)
            print(f"{{took:.3f}} {{rss_mb}}")
            sys.exit(0)
        print("loaded", str(data)[:100])
        sys.exit(3)
        """
    )
    done = _run("-c", script)
    assert done.returncode == 0, done.stdout + done.stderr
    message, figures = done.stdout.strip().splitlines()
    assert message.startswith(f"{bomb}:")
    assert f"more than {MAX_NODES} YAML nodes" in message
    took, rss_mb = figures.split()
    assert float(took) < 1.0
    assert int(rss_mb) < 200  # the interpreter and PyYAML; nothing expanded


def test_billion_laughs_in_process_names_the_limit_and_line() -> None:
    with pytest.raises(YamlLimitError) as caught:
        safe_yaml.safe_load(BOMB, "bomb.yaml")
    err = caught.value
    assert err.source == "bomb.yaml"
    assert err.line is not None
    assert 1 < err.line <= 10
    assert str(err) == f"bomb.yaml:{err.line}: more than {MAX_NODES} YAML nodes (aliases counted expanded)"
    assert isinstance(err, yaml.YAMLError)  # a caller that only knows YAML errors still refuses it


@pytest.mark.parametrize("text", [DEEP_SEQ, DEEP_MAP, DEEP_BLOCK], ids=["flow-seq", "flow-map", "block-seq"])
def test_100k_nesting_is_refused_before_recursion(text: str) -> None:
    started = time.perf_counter()
    with pytest.raises(YamlLimitError) as caught:
        safe_yaml.safe_load(text, "deep.yaml")
    assert time.perf_counter() - started < 20.0  # a hang guard (recursion would not return); 2 s failed on a slow VM
    assert str(caught.value) == f"deep.yaml:1: YAML nesting deeper than {MAX_DEPTH} levels"
    # exactly the limit is fine, one more is not
    assert safe_yaml.safe_load("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(YamlLimitError):
        safe_yaml.safe_load("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))


def test_plain_pyyaml_would_have_crashed_on_the_nesting() -> None:
    """Why the composer needed the check: PyYAML's own recursion gives up, as a RecursionError."""
    with pytest.raises(RecursionError):
        yaml.safe_load(DEEP_SEQ)


def test_oversized_text_and_file(tmp_path: Path) -> None:
    with pytest.raises(YamlLimitError, match=f"^big.yaml: YAML input larger than {MAX_BYTES} bytes$"):
        safe_yaml.safe_load("#" * (MAX_BYTES + 1), "big.yaml")
    with pytest.raises(YamlLimitError, match="larger than"):  # bytes, not characters: "é" is 2 bytes
        safe_yaml.safe_load("é" * (MAX_BYTES // 2 + 1))
    tight = YamlLimits(max_bytes=1000)
    assert safe_yaml.safe_load("# " + "x" * 997 + "\n", limits=tight) is None  # exactly the limit is fine
    with pytest.raises(YamlLimitError, match="larger than 1000 bytes"):
        safe_yaml.safe_load("# " + "x" * 998 + "\n", limits=tight)
    # a 20 GB (sparse) file is refused from its size, never read: this process would not survive reading it
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as f:
        f.truncate(20 * 1024**3)
    started = time.perf_counter()
    with pytest.raises(YamlLimitError, match=f"^{huge}: YAML input larger than {MAX_BYTES} bytes$"):
        safe_yaml.load_file(huge)
    assert time.perf_counter() - started < 5.0  # a guard against reading it (minutes), not a speed test


def test_alias_count_recursion_and_node_limits() -> None:
    many = "a: &a x\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n"
    with pytest.raises(YamlLimitError, match=f"^many.yaml:2: more than {MAX_ALIASES} YAML aliases$"):
        safe_yaml.safe_load(many, "many.yaml")
    assert len(safe_yaml.safe_load(many.replace(", *a]", "]"))["b"]) == MAX_ALIASES
    with pytest.raises(YamlLimitError, match=r"^loop.yaml:1: recursive YAML alias \*a"):
        safe_yaml.safe_load("&a [1, *a]", "loop.yaml")
    with pytest.raises(YamlLimitError, match=r"recursive YAML alias \*m"):
        safe_yaml.safe_load("&m {k: *m}")
    small = YamlLimits(max_nodes=50)
    assert len(safe_yaml.safe_load("[" + ", ".join(["1"] * 49) + "]", limits=small)) == 49
    with pytest.raises(YamlLimitError, match="more than 50 YAML nodes"):
        safe_yaml.safe_load("[" + ", ".join(["1"] * 50) + "]", limits=small)
    # merge keys still work, and count what they stand for
    merged = safe_yaml.safe_load("base: &b {x: 1, y: 2}\nitem:\n  <<: *b\n  y: 3\n")
    assert merged["item"] == {"x": 1, "y": 3}


def test_values_the_constructor_cannot_build_are_yaml_errors_not_crashes() -> None:
    for text, what in [("n: " + "9" * 5000, "invalid int value"), ("d: 2026-13-45", "invalid timestamp value")]:
        with pytest.raises(yaml.MarkedYAMLError, match=what) as caught:
            safe_yaml.safe_load(text, "v.yaml")
        assert caught.value.problem_mark is not None
        assert caught.value.problem_mark.line == 0


# ---- the estate file: parse_estate, ronde estate check ---------------------------------------------------

BOMBS = {"laughs": BOMB, "deep-seq": DEEP_SEQ, "deep-map": DEEP_MAP}
EXPECTED = {
    "laughs": f"more than {MAX_NODES} YAML nodes",
    "deep-seq": f"YAML nesting deeper than {MAX_DEPTH} levels",
    "deep-map": f"YAML nesting deeper than {MAX_DEPTH} levels",
}


@pytest.mark.parametrize("name", BOMBS)
def test_estate_parser_refuses_bombs_with_the_limit(name: str) -> None:
    with pytest.raises(EstateFileError) as caught:
        parse_estate(BOMBS[name], "estate.yaml")
    (err,) = caught.value.errors
    assert EXPECTED[name] in err.message
    assert err.line is not None
    assert isinstance(caught.value.__cause__, YamlLimitError)


@pytest.mark.parametrize("name", [*BOMBS, "oversized"])
def test_estate_check_exits_2_with_the_message(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.yaml"
    if name == "oversized":
        path.write_text(SAMPLE + "#" * MAX_BYTES + "\n")
        expected = f"{path}: YAML input larger than {MAX_BYTES} bytes"
    else:
        path.write_text(BOMBS[name])
        # the nesting bombs are on line 1; the laughs cross the limit at the first level of more than MAX_NODES lols
        line = 1 if name.startswith("deep") else next(i + 1 for i in range(10) if 9**i > MAX_NODES)
        expected = f"{path}:{line}: {EXPECTED[name]}"
    done = _run("-m", "ronde.cli", "estate", "check", str(path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(expected), done.stderr
    assert "Traceback" not in done.stderr


def _estate_with(old: str, new: str) -> str:
    assert SAMPLE.count(old) >= 1
    return SAMPLE.replace(old, new, 1)


NEWLINE_LANDLORD = _estate_with('name: "Paris Habitat"', 'name: "Paris Habitat\\n# manifest: {\\"rows\\": 0}"')
BIDI_CHECKPOINT = _estate_with("Hall A – 4 rue Albert Thomas", "Hall A – 4 rue \u202eAlbert Thomas")
LINE_SEP_CITY = _estate_with('city: "Champigny', 'city: "Champigny\\u2028')  # a YAML escape: one real U+2028
ZERO_WIDTH_BUILDING = _estate_with('name: "4 rue Albert Thomas"', 'name: "4 rue\u200b Albert Thomas"')


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n"), 1) if needle in line)


@pytest.mark.parametrize(
    ("text", "needle", "location", "char"),
    [
        (NEWLINE_LANDLORD, "Paris Habitat\\n", "landlords[0].name", "U+000A"),
        (BIDI_CHECKPOINT, "\u202e", ".name", "U+202E"),
        (LINE_SEP_CITY, "Champigny\\u2028", "estates[0].city", "U+2028"),
    ],
    ids=["newline", "bidi-override", "line-separator"],
)
def test_estate_check_refuses_control_characters_in_names(
    tmp_path: Path, text: str, needle: str, location: str, char: str
) -> None:
    path = tmp_path / "estate.yaml"
    path.write_text(text, encoding="utf-8")
    line = _line_of(text, needle)
    done = _run("-m", "ronde.cli", "estate", "check", str(path))
    assert done.returncode == 1, done.stdout + done.stderr
    err = next(x for x in done.stderr.splitlines() if char in x)
    assert err.startswith(f"{path}:{line}: ")
    assert location in err
    assert "one line of visible text" in err


def test_every_name_field_is_checked() -> None:
    """Cf characters (zero width, bidi) are refused too, and in references and the revision as well."""
    for text in [
        ZERO_WIDTH_BUILDING,
        _estate_with('revision: "2026-12-05.1"', 'revision: "2026-12-05.1\\r"'),
        _estate_with("landlord: immobiliere-3f", "landlord: immobiliere-3f\u2066"),
    ]:
        with pytest.raises(EstateFileError, match="one line of visible text"):
            parse_estate(text, "estate.yaml")
    # ordinary accents, dashes, apostrophes and non-Latin letters stay fine
    registry = parse_estate(_estate_with('name: "Paris Habitat"', 'name: "Paris Habitat – Œuvre d’été 住宅"'))
    assert registry.landlords[0].name.endswith("住宅")


# ---- the gateways file, and the registry's import ----------------------------------------------------------


@pytest.mark.parametrize("name", BOMBS)
def test_gateways_file_refuses_bombs(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(BOMBS[name])
    with pytest.raises(GatewaysFileError) as gw_err:
        load_gateways(path)
    assert gw_err.value.source == str(path)
    assert EXPECTED[name] in str(gw_err.value)
    assert "line " in gw_err.value.problems[0]


def test_gateways_file_refuses_oversized(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("format: ronde-gateways\nversion: 1\n" + "#" * MAX_BYTES + "\n")
    with pytest.raises(GatewaysFileError, match=f"larger than {MAX_BYTES} bytes"):
        load_gateways(big)


@pytest.mark.parametrize("which", ["--gateways", "--estate"])
def test_registry_import_refuses_a_bomb(tmp_path: Path, which: str) -> None:
    """The estate and gateways files reach a worker only through the operational database: their one way in,
    ``ronde registry import``, refuses a bomb with the file and the limit, and imports nothing."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB)
    url = f"sqlite:///{tmp_path / 'opdb.db'}"
    engine = make_engine(url)
    upgrade(engine)
    done = _run("-m", "ronde.cli", "registry", "import", "--url", url, which, str(bomb))
    assert done.returncode == 1, done.stdout + done.stderr
    assert str(bomb) in done.stderr
    assert f"more than {MAX_NODES} YAML nodes" in done.stderr
    assert "Traceback" not in done.stderr
    try:
        assert RegistryRepository(engine).version() == 0
    finally:
        engine.dispose()


def test_gateways_file_refuses_control_characters_and_newline_badges() -> None:
    head = "format: ronde-gateways\nversion: 1\ngateways:\n"
    with pytest.raises(GatewaysFileError, match=r"gateways\[0\]\.note: .*U\+202E"):
        parse_gateways(head + '  - {id: gw-a, note: "spare \u202e"}\n', "gateways.yaml")
    with pytest.raises(GatewaysFileError, match=r"gateways\[0\]\.badges: 'EQUIPE-A\\n' is not a valid badge"):
        parse_gateways(head + '  - {id: gw-a, badges: ["EQUIPE-A\\n"]}\n', "gateways.yaml")
    assert len(parse_gateways(head + "  - {id: gw-a, note: spare, badges: [EQUIPE-A]}\n")) == 1


# ---- tokens and badges files -------------------------------------------------------------------------------


def test_tokens_and_badges_files_refuse_bombs(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB)
    with pytest.raises(TokenFileError, match=f"more than {MAX_NODES} YAML nodes"):
        read_token_file(bomb)
    with pytest.raises(ValueError, match=f"more than {MAX_NODES} YAML nodes"):
        load_badges(bomb)


def test_badges_file_refuses_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "badges.yaml"
    path.write_text('format: ronde-badges\nversion: 1\nbadges:\n  - {badge: "EQUIPE-A\\n", team: "Équipe 1"}\n')
    with pytest.raises(ValueError, match=r"badges\[0\]\.badge: 'EQUIPE-A\\n' is not a valid badge"):
        load_badges(path)
    path.write_text('format: ronde-badges\nversion: 1\nbadges:\n  - {badge: EQUIPE-A, team: "Équipe\\u202e 1"}\n')
    with pytest.raises(ValueError, match=r"badges\[0\]\.team: contains U\+202E"):
        load_badges(path)
    path.write_text("format: ronde-badges\nversion: 1\nbadges:\n  - {badge: EQUIPE-A, team: Équipe 1}\n")
    assert load_badges(path)["EQUIPE-A"].team == "Équipe 1"


# ---- the API's estate import ------------------------------------------------------------------------------


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app, store, _ = make_app(tmp_path)
    with TestClient(app) as c:
        yield c
    store.close()


@pytest.mark.parametrize("name", BOMBS)
@pytest.mark.parametrize("route", ["check", "import"])
def test_api_estate_import_refuses_bombs_with_422(client: TestClient, name: str, route: str) -> None:
    before = client.get("/api/v1/estate-file", headers=ADMIN).text
    started = time.perf_counter()
    if route == "check":
        r = client.post("/api/v1/estate-file/check", content=BOMBS[name], headers=ADMIN)
    else:
        r = client.put("/api/v1/estate-file", content=BOMBS[name], headers=ADMIN)
    assert time.perf_counter() - started < 30.0  # a hang guard, not a speed test: 5 s failed on a slow VM
    assert r.status_code == 422, r.text
    body = r.json()
    assert EXPECTED[name] in body["detail"]
    (err,) = body["errors"]
    assert EXPECTED[name] in err["message"]
    assert err["line"] is not None
    assert client.get("/api/v1/estate-file", headers=ADMIN).text == before  # nothing applied


def test_api_estate_import_refuses_oversized(client: TestClient) -> None:
    r = client.put("/api/v1/estate-file", content=SAMPLE + "#" * MAX_BYTES, headers=ADMIN)
    assert r.status_code in (413, 422)
    assert "larger than" in r.text


@pytest.mark.parametrize(
    ("text", "char"), [(NEWLINE_LANDLORD, "U+000A"), (BIDI_CHECKPOINT, "U+202E"), (LINE_SEP_CITY, "U+2028")]
)
def test_api_estate_import_refuses_control_characters(client: TestClient, text: str, char: str) -> None:
    r = client.put("/api/v1/estate-file", content=text.encode("utf-8"), headers=ADMIN)
    assert r.status_code == 422, r.text
    err = next(e for e in r.json()["errors"] if char in e["message"])
    assert err["line"] is not None
    assert err["location"].endswith((".name", ".city"))


def test_api_registry_edits_refuse_control_characters(client: TestClient) -> None:
    r = client.put(
        "/api/v1/landlords/paris-habitat", json={"name": "Paris Habitat\n# manifest: {}", "dwellings": 1}, headers=ADMIN
    )
    assert r.status_code == 422
    assert "U+000A" in r.text
    assert "\n" not in client.get("/api/v1/landlords/paris-habitat", headers=ADMIN).json()["name"]
