"""``ronde audit report`` / ``ronde audit verify`` end to end on a SQLite store file."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from ronde.cli import main
from ronde.protocol.estate import default_estate_path, load_default_estate
from ronde.store.records import WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.api.support import make_database
from tests.coverage.factory import local, visit

DAYS = [date(2026, 11, d) for d in (4, 5, 6, 7, 8)]


@pytest.fixture
def site(tmp_path: Path) -> list[str]:
    """The operational database a report reads its registry and calendar from (the sample estate imported, no
    calendar row: the default one): what ``ronde audit report`` reads, never an estate file."""
    make_database(tmp_path).dispose()
    return ["--database", f"sqlite:///{tmp_path / 'opdb.db'}"]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    reg = load_default_estate()
    cps = [c.id for c in reg.checkpoints_of("paris-habitat")][:5]
    visits = [
        visit(reg, cid, d, local(d, 17, 10 * i), local(d, 17, 10 * i + 3), event_id=f"{d}-{cid}")
        for d in DAYS
        for i, cid in enumerate(cps)
    ]
    path = tmp_path / "ronde.db"
    store = SqliteStore(path)
    store.open()
    store.write(WriteBatch(visits=tuple(visits)))
    store.close()
    return path


def _report(site: list[str], store: str, out: str, fmt: str, *, landlord: str = "paris-habitat") -> int:
    """``ronde audit report`` of the test week (4 to 8 November 2026) on the site's estate."""
    period = ["--from", "2026-11-04", "--to", "2026-11-08"]
    return main(
        ["audit", "report", "--landlord", landlord, *period, *site, "--store", store, "--format", fmt, "--out", out]
    )


@pytest.mark.parametrize(("fmt", "plain_path"), [("csv", False), ("pdf", True)])
def test_report_then_verify_then_tamper(
    site: list[str], db: Path, tmp_path: Path, fmt: str, plain_path: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"rapport.{fmt}"
    url = str(db) if plain_path else f"sqlite:///{db}"
    assert _report(site, url, str(out), fmt) == 0
    assert out.exists()
    assert Path(str(out) + ".manifest.json").exists()
    assert main(["audit", "verify", str(out), "--store", url, "--estate", str(default_estate_path())]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("OK: ")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE visits SET count = count + 1 WHERE event_id = ?", (f"2026-11-07-{_first_cp()}",))
    conn.commit()
    conn.close()
    assert main(["audit", "verify", str(out), "--store", url]) == 1
    text = capsys.readouterr().out
    assert "FAILED" in text
    assert "FIRST DAY THAT DIFFERS: 2026-11-07" in text


def _first_cp() -> str:
    return load_default_estate().checkpoints_of("paris-habitat")[0].id


def test_bad_inputs_exit_2(site: list[str], db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{db}"
    assert main(["audit", "verify", str(tmp_path / "missing.csv"), "--store", url]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert _report(site, url, str(tmp_path / "x.csv"), "csv", landlord="nobody") == 2
    assert "unknown landlord 'nobody'" in capsys.readouterr().err
    assert _report(site, f"sqlite:///{tmp_path / 'nope.db'}", str(tmp_path / "x.csv"), "csv") == 2
    assert _report(site, "ftp://nowhere", str(tmp_path / "x.csv"), "csv") == 2
    assert "ftp" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(
            [
                "audit",
                "report",
                "--landlord",
                "paris-habitat",
                "--from",
                "4/11/2026",
                "--to",
                "2026-11-08",
                *site,
                "--store",
                url,
                "--out",
                str(tmp_path / "x.csv"),
            ]
        )


def test_closed_day_is_not_a_service_day_but_its_events_stay_chained(site: list[str], db: Path, tmp_path: Path) -> None:
    from ronde.audit.export import read_report

    out = tmp_path / "r.csv"
    assert (
        main(
            [
                "audit",
                "report",
                "--landlord",
                "paris-habitat",
                "--from",
                "2026-11-04",
                "--to",
                "2026-11-08",
                *site,
                "--store",
                str(db),
                "--format",
                "csv",
                "--lang",
                "en",
                "--closed",
                "2026-11-06",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    manifest, _ = read_report(out)
    assert [x.day.isoformat() for x in manifest.chain.links] == [
        "2026-11-04",
        "2026-11-05",
        "2026-11-06",
        "2026-11-07",
        "2026-11-08",
    ]
    row = next(line for line in out.read_text().splitlines() if line.startswith(_first_cp() + ","))
    assert row.split(",")[6] == "4"  # service days: the closed Friday is not one


def test_verify_as_a_landlord_refuses_another_landlords_report(
    site: list[str], db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A genuine report (signed, intact, store unchanged) of one landlord is not another's proof."""
    out = tmp_path / "theirs.csv"
    assert (
        main(
            [
                "audit",
                "report",
                "--landlord",
                "immobiliere-3f",
                "--from",
                "2026-11-04",
                "--to",
                "2026-11-08",
                *site,
                "--store",
                str(db),
                "--format",
                "csv",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert main(["audit", "verify", str(out), "--store", str(db)]) == 0  # genuine: it verifies as what it is
    capsys.readouterr()
    assert main(["audit", "verify", str(out), "--store", str(db), "--landlord", "paris-habitat"]) == 1
    text = capsys.readouterr().out
    assert text.startswith("FAILED: ")
    assert "LANDLORD: this report was issued for landlord 'immobiliere-3f', not 'paris-habitat'" in text
    assert main(["audit", "verify", str(out), "--store", str(db), "--landlord", "immobiliere-3f"]) == 0
    assert capsys.readouterr().out.startswith("OK: ")


def test_a_server_key_beginning_with_a_dash_is_taken_as_the_key(
    site: list[str], db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One base64url key in 64 begins with "-": argparse took it for an option ("--public-key: expected one
    argument", exit 2), so a landlord could not verify that server's reports as every text tells them to."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    from ronde.audit.keys import public_key_text
    from ronde.cli import attach_key_values

    key = next(k for k in iter(Ed25519PrivateKey.generate, None) if public_key_text(k).startswith("-"))
    pem = tmp_path / "dash-key.pem"
    pem.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    monkeypatch.setenv("RONDE_AUDIT_KEY", str(pem))
    out = tmp_path / "rapport.csv"
    assert _report(site, str(db), str(out), "csv") == 0
    capsys.readouterr()
    text = public_key_text(key)
    assert main(["audit", "verify", str(out), "--store", str(db), "--public-key", text]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("OK: ")
    # only a key's shape is joined: a forgotten value still names the option, as argparse would
    assert attach_key_values(["--public-key", "--store", "x"]) == ["--public-key", "--store", "x"]
    assert attach_key_values(["--public-key", text]) == [f"--public-key={text}"]
