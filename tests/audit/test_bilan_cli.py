"""``ronde audit bilan``: a landlord's bilan written by hand from the operational database and the store, then
verified by ``ronde audit verify``; a bad month or an unknown landlord is refused with its reason."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ronde.cli import main
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import load_default_estate
from ronde.protocol.gateways import GatewayRegistry
from ronde.store.records import WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.coverage.factory import local, visit
from tests.support.opdb_site import site_database


@pytest.fixture
def site(tmp_path: Path) -> tuple[str, Path]:
    url = site_database(tmp_path / "ronde.db", GatewayRegistry(), calendar=ServiceCalendar())
    reg = load_default_estate()
    cps = sorted(c.id for c in reg.checkpoints.values() if c.landlord == "idf-habitat")
    days = list(ServiceCalendar().service_days(date(2026, 10, 1), date(2026, 10, 31)))
    store = SqliteStore(tmp_path / "store.db")
    store.open()
    store.write(
        WriteBatch(
            visits=tuple(
                visit(reg, cp, d, local(d, 18), local(d, 18, 5), event_id=f"{cp}{d}") for cp in cps for d in days
            )
        )
    )
    store.close()
    return url, tmp_path / "store.db"


def test_written_then_verified(site: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url, store = site
    out = tmp_path / "bilans"
    args = ["--landlord", "idf-habitat", "--month", "2026-10", "--store", str(store), "--database", url]
    assert main(["audit", "bilan", *args, "--out", str(out), "--lang", "en"]) == 0
    printed = capsys.readouterr().out
    assert str(out / "bilan-idf-habitat-2026-10-en.pdf") in printed
    assert len(list(out.iterdir())) == 6
    assert main(["audit", "verify", str(out / "bilan-idf-habitat-2026-10-en.pdf"), "--store", str(store)]) == 0
    assert capsys.readouterr().out.startswith("OK: bilan ")


def test_refusals_name_their_reason(site: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url, store = site
    with pytest.raises(SystemExit) as exc:
        main(["audit", "bilan", "--landlord", "x", "--month", "2026-13", "--store", str(store), "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "not a month (YYYY-MM): '2026-13'" in capsys.readouterr().err
    args = ["--month", "2026-10", "--store", str(store), "--database", url, "--out", str(tmp_path / "o")]
    assert main(["audit", "bilan", "--landlord", "nobody", *args]) == 2
    assert "ronde audit bilan: unknown landlord 'nobody'" in capsys.readouterr().err
