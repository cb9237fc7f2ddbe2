"""``ronde audit report|verify`` on the operational database (issue 13): the registry in force, its revision and
content digest from ``registry_revisions``, the service calendar from ``service_calendars``; and the store token
(``RONDE_STORE_TOKEN`` or ``--store-token-file``) sent to a token-only InfluxDB 2.7."""

from __future__ import annotations

import json
import warnings
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import update

from ronde.cli import main
from ronde.opdb import service_repo
from ronde.opdb.engine import make_engine, session_factory
from ronde.opdb.migrate import upgrade
from ronde.opdb.models import RevisionRow
from ronde.opdb.registry_repo import RegistryRepository
from ronde.opdb.sealing import SecretBox
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import registry_from_document
from ronde.protocol.estate_digest import registry_digest
from ronde.store.credentials import StoreTokenDeprecation
from tests.audit.test_cli import db  # noqa: F401 - the store fixture (five evenings of paris-habitat's visits)
from tests.opdb.conftest import SECRET_KEY
from tests.opdb.test_registry_repo import sample
from tests.store.standin import Reply, standin

PERIOD = ["--from", "2026-11-04", "--to", "2026-11-08"]
CLOSED = date(2026, 11, 6)


@pytest.fixture
def box(monkeypatch: pytest.MonkeyPatch) -> SecretBox:
    monkeypatch.setenv("RONDE_OPDB_SECRET_KEY", SECRET_KEY)  # the sample estate has EID beacons
    return SecretBox.from_env()


@pytest.fixture
def opdb(tmp_path: Path, box: SecretBox) -> str:
    """A SQLite operational database at this code's schema, the sample estate imported under revision
    ``db-rev-1``, the default calendar with 6 November closed."""
    url = f"sqlite:///{tmp_path / 'opdb.db'}"
    engine = make_engine(url)
    upgrade(engine)
    doc = sample().model_copy(update={"revision": "db-rev-1"})
    RegistryRepository(engine, box).install(doc, author="test")
    with session_factory(engine).begin() as s:
        service_repo.put_calendar(s, ServiceCalendar(closed=frozenset({CLOSED})))
    engine.dispose()
    return url


def _manifest(out: Path) -> dict[str, object]:
    return dict(json.loads(Path(f"{out}.manifest.json").read_text(encoding="utf-8")))


def _csv_report(store: Path, out: Path, *, database: str | None = None) -> int:
    """``ronde audit report`` of Paris Habitat's period as CSV (the operational database given, or the settings')."""
    args = ["audit", "report", "--landlord", "paris-habitat", *PERIOD, "--store", str(store), "--format", "csv"]
    return main([*args, *(["--database", database] if database is not None else []), "--out", str(out)])


def test_report_binds_the_database_revision_digest_and_calendar(
    db: Path,  # noqa: F811
    opdb: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "r.csv"
    assert _csv_report(db, out, database=opdb) == 0
    manifest = _manifest(out)
    registry = registry_from_document(sample())
    assert manifest["registry_revision"] == "db-rev-1"
    assert manifest["registry_digest"] == registry_digest(registry)  # the digest stored with the revision
    calendar = manifest["calendar"]
    assert isinstance(calendar, dict)
    assert CLOSED.isoformat() in calendar["closed"]
    capsys.readouterr()
    # on the server: the report's revision is one the database holds, with the same digest
    assert main(["audit", "verify", str(out), "--store", str(db), "--database", opdb]) == 0
    assert capsys.readouterr().out.startswith("OK: ")


def test_report_reads_the_database_from_ronde_database_url(
    db: Path,  # noqa: F811
    opdb: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RONDE_DATABASE_URL", opdb)
    out = tmp_path / "r.csv"
    assert _csv_report(db, out) == 0
    assert _manifest(out)["registry_revision"] == "db-rev-1"


def test_verify_names_a_revision_the_database_does_not_hold(
    db: Path,  # noqa: F811
    opdb: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "r.csv"
    assert _csv_report(db, out, database=opdb) == 0
    other = f"sqlite:///{tmp_path / 'other.db'}"
    engine = make_engine(other)
    upgrade(engine)
    RegistryRepository(engine, SecretBox.from_env()).install(sample(), author="test")  # the sample's own label
    engine.dispose()
    capsys.readouterr()
    assert main(["audit", "verify", str(out), "--store", str(db), "--database", other]) == 1
    assert "ESTATE: the operational database holds no registry revision 'db-rev-1'" in capsys.readouterr().out


def test_report_refuses_rows_that_are_not_their_revision_digest(
    db: Path,  # noqa: F811
    opdb: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    engine = make_engine(opdb)
    with session_factory(engine).begin() as s:
        s.execute(update(RevisionRow).values(digest="0" * 64))
    engine.dispose()
    assert _csv_report(db, tmp_path / "r.csv", database=opdb) == 2
    assert "is not the digest" in capsys.readouterr().err


def test_an_old_or_empty_database_exits_2_naming_the_command(
    db: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bare = f"sqlite:///{tmp_path / 'bare.db'}"
    args = [
        "audit",
        "report",
        "--landlord",
        "paris-habitat",
        *PERIOD,
        "--store",
        str(db),
        "--format",
        "csv",
        "--out",
        str(tmp_path / "r.csv"),
    ]
    assert main([*args, "--database", bare]) == 2
    assert "ronde db upgrade" in capsys.readouterr().err
    engine = make_engine(bare)
    upgrade(engine)
    engine.dispose()
    assert main([*args, "--database", bare]) == 2
    assert "ronde registry import" in capsys.readouterr().err
    assert main(["dashboards", "generate", "--database", bare, "--out", str(tmp_path / "d")]) == 2
    assert "ronde registry import" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # a report reads no estate file: the server's registry is its database's
        main([*args, "--database", bare, "--estate", str(tmp_path / "x.yaml")])
    assert "unrecognized arguments: --estate" in capsys.readouterr().err


# ---- the store token: one setting for every role ---------------------------------------------------------------


def _influx_27(s: object) -> None:
    from tests.store.standin import StandIn

    assert isinstance(s, StandIn)
    s.on("GET", "/ping", Reply(204, {"X-Influxdb-Version": "v2.7.12", "X-Influxdb-Build": "OSS"}))
    s.on("POST", "/query", Reply.json({"results": [{"statement_id": 0}]}))
    s.on("GET", "/query", Reply.json({"results": [{"statement_id": 0}]}))


def _queries(s: object) -> list[dict[str, str]]:
    from tests.store.standin import StandIn

    assert isinstance(s, StandIn)
    return [r.headers for r in s.requests if r.path == "/query"]


@pytest.mark.parametrize("how", ["env", "file", "deprecated-env"])
def test_audit_report_sends_the_store_token(
    how: str, opdb: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ronde audit report`` on the compose stack's token-only InfluxDB 2.7 (an HTTP stand-in recording headers):
    the token goes in ``Authorization: Token …`` of every InfluxQL query."""
    monkeypatch.delenv("RONDE_STORE_TOKEN", raising=False)
    monkeypatch.delenv("RONDE_INFLUX_TOKEN", raising=False)
    extra: list[str] = []
    if how == "env":
        monkeypatch.setenv("RONDE_STORE_TOKEN", "s3cret-token")
    elif how == "file":
        secret = tmp_path / "store-token"
        secret.write_text("s3cret-token\n", encoding="utf-8")
        extra = ["--store-token-file", str(secret)]
    else:
        monkeypatch.setenv("RONDE_INFLUX_TOKEN", "s3cret-token")
    with standin() as s, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _influx_27(s)
        assert (
            main(
                [
                    "audit",
                    "report",
                    "--landlord",
                    "paris-habitat",
                    *PERIOD,
                    "--store",
                    s.url,
                    "--store-org",
                    "ronde",
                    "--database",
                    opdb,
                    "--format",
                    "csv",
                    "--out",
                    str(tmp_path / "r.csv"),
                    *extra,
                ]
            )
            == 0
        )
        sent = _queries(s)
    assert sent, "the report read nothing from the store"
    assert all(h.get("Authorization") == "Token s3cret-token" for h in sent), sent
    deprecated = [w for w in caught if issubclass(w.category, StoreTokenDeprecation)]
    assert bool(deprecated) is (how == "deprecated-env")


def test_audit_reads_the_store_and_its_token_from_the_one_settings_model(
    opdb: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No store flag at all: the store URL and organisation from the settings file (``RONDE_CONFIG``), the token
    from ``RONDE_STORE_TOKEN_FILE``, the database from ``[database] url``: what the API and ingest read too."""
    for var in ("RONDE_STORE_TOKEN", "RONDE_INFLUX_TOKEN", "RONDE_DATABASE_URL", "RONDE_STORE_URL"):
        monkeypatch.delenv(var, raising=False)
    secret = tmp_path / "store-token"
    secret.write_text("s3cret-token\n", encoding="utf-8")
    monkeypatch.setenv("RONDE_STORE_TOKEN_FILE", str(secret))
    out = tmp_path / "r.csv"
    argv = ["audit", "report", "--landlord", "paris-habitat", *PERIOD, "--format", "csv", "--out", str(out)]
    with standin() as s:
        _influx_27(s)
        config = tmp_path / "ronde.toml"
        config.write_text(f'[database]\nurl = "{opdb}"\n[store]\nurl = "{s.url}"\norg = "ronde"\n', encoding="utf-8")
        monkeypatch.setenv("RONDE_CONFIG", str(config))
        assert main(argv) == 0
        sent = _queries(s)
    assert sent
    assert all(h.get("Authorization") == "Token s3cret-token" for h in sent), sent
    capsys.readouterr()
    # a token written in the settings file is refused, naming the file and the field
    config.write_text(f'[store]\nurl = "{s.url}"\ntoken = "in-the-file"\n', encoding="utf-8")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ronde audit report: config {config}: store.token: a secret is never written")
    assert "in-the-file" not in err
    # no store anywhere: the setting is named
    monkeypatch.delenv("RONDE_CONFIG")
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(
        "ronde audit report: config RONDE_STORE_URL: store.url: required by ronde audit report"
    )


def test_audit_key_is_the_settings_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ronde audit key`` prints the key the API and the reports sign with: ``[audit] key`` of the settings."""
    key = tmp_path / "site-audit-key.pem"
    config = tmp_path / "ronde.toml"
    config.write_text(f'[audit]\nkey = "{key}"\n', encoding="utf-8")
    monkeypatch.delenv("RONDE_AUDIT_KEY", raising=False)
    monkeypatch.setenv("RONDE_CONFIG", str(config))
    assert main(["audit", "key"]) == 0
    assert f"private key file: {key}" in capsys.readouterr().out
    assert key.is_file()
    config.write_text("[audit]\nkey = 7\n", encoding="utf-8")
    assert main(["audit", "key"]) == 2
    assert capsys.readouterr().err.startswith(f"ronde audit key: config {config}: audit.key: ")
