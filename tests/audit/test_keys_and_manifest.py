"""The audit key (created once, 0600, reused; public key by text or file) and the manifest's own
checks: signature, completeness and the CSV read back into the very figures that were signed."""

from __future__ import annotations

import json
import stat
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ronde.audit.export import parse_csv_figures, render_csv
from ronde.audit.keys import (
    AuditKeyError,
    fingerprint,
    load_signing_key,
    parse_public_key,
    public_key_text,
    sign_manifest,
    signature_problem,
)
from ronde.audit.labels import Lang
from ronde.audit.manifest import completeness_problems, manifest_of, parse_manifest, report_figures
from ronde.audit.report import AuditReport, build_report
from ronde.cli import main
from ronde.protocol.calendar import ServiceCalendar
from ronde.store.sqlite import SqliteStore
from tests.audit.conftest import DAYS
from tests.coverage.factory import local, registry

NOW = local(date(2026, 11, 20), 12)


def _report(store: SqliteStore) -> AuditReport:
    return build_report(store, registry(), ServiceCalendar(), "paris-habitat", DAYS[0], DAYS[-1], now=NOW)


def test_key_is_created_once_owner_only_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "audit.pem"
    with pytest.raises(AuditKeyError, match="no audit key"):
        load_signing_key(path, create=False)
    key = load_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert public_key_text(load_signing_key(path)) == public_key_text(key)
    path.write_text("not a key")
    with pytest.raises(AuditKeyError, match="not a PEM private key"):
        load_signing_key(path)


def test_public_key_as_text_or_file(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    text = public_key_text(key)
    assert len(text) == 43
    assert fingerprint(parse_public_key(text)) == fingerprint(key)
    (tmp_path / "k.txt").write_text(text + "\n")
    assert fingerprint(parse_public_key(str(tmp_path / "k.txt"))) == fingerprint(key)
    pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "k.pem").write_bytes(pem)
    assert fingerprint(parse_public_key(str(tmp_path / "k.pem"))) == fingerprint(key)
    with pytest.raises(AuditKeyError, match="not an Ed25519 public key"):
        parse_public_key("hello")


def test_ronde_audit_key_prints_the_public_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "k.pem"
    assert main(["audit", "key", "--key", str(path), "--no-create"]) == 2
    assert "no audit key" in capsys.readouterr().err
    assert main(["audit", "key", "--key", str(path)]) == 0
    out = capsys.readouterr().out
    key = load_signing_key(path, create=False)
    assert f"public key (Ed25519, base64url): {public_key_text(key)}" in out
    assert f"fingerprint: {fingerprint(key)}" in out


def test_signature_covers_everything_but_the_file_name(store: SqliteStore) -> None:
    key = Ed25519PrivateKey.generate()
    signed = sign_manifest(manifest_of(_report(store)), key)
    assert signature_problem(signed, key.public_key()) is None
    assert signature_problem({**signed, "file": "renamed.csv"}, key.public_key()) is None
    edited = json.loads(json.dumps(signed))
    edited["last"] = "2026-11-30"
    assert "edited after it was issued" in str(signature_problem(edited, key.public_key()))
    assert "not with the audit key" in str(signature_problem(signed, Ed25519PrivateKey.generate().public_key()))


def test_completeness_names_dropped_reordered_and_outside_days(store: SqliteStore) -> None:
    data = manifest_of(_report(store))
    assert completeness_problems(parse_manifest(data)) == []
    links = data["chain"]["links"]
    dropped = json.loads(json.dumps(data))
    dropped["chain"]["links"] = links[:2] + links[3:]
    problems = completeness_problems(parse_manifest(dropped))
    assert any("without a link" in p and "2026-11-06" in p for p in problems)
    assert any("not the chain's days" in p for p in problems)
    reordered = json.loads(json.dumps(data))
    reordered["chain"]["links"] = [links[1], links[0], *links[2:]]
    assert any("not in order" in p for p in completeness_problems(parse_manifest(reordered)))
    shortened = json.loads(json.dumps(data))
    shortened["last"] = "2026-11-08"  # the period claimed no longer matches the report's
    problems = completeness_problems(parse_manifest(shortened))
    assert any("links outside the period: 2026-11-11" in p for p in problems)
    assert any("the report shows last '2026-11-11', the manifest '2026-11-08'" in p for p in problems)
    final = json.loads(json.dumps(data))
    final["chain"]["final"] = links[-2]["link"]
    assert any("is not the last link" in p for p in completeness_problems(parse_manifest(final)))


@pytest.mark.parametrize("lang", list(Lang))
def test_csv_reads_back_into_the_signed_figures(store: SqliteStore, lang: Lang) -> None:
    report = _report(store)
    text = render_csv(report, lang, Ed25519PrivateKey.generate())
    assert parse_csv_figures(text, lang) == report_figures(report)
