"""``ronde db`` and ``ronde registry import|export`` on SQLite and PostgreSQL: today's files in, the same out."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from ronde.cli import main
from ronde.opdb.engine import make_engine
from ronde.opdb.registry_repo import RegistryRepository
from ronde.opdb.sealing import SecretBox
from ronde.protocol.access import hash_token, read_token_file
from ronde.protocol.estate import default_estate_path, load_estate
from ronde.protocol.estate_digest import registry_digest
from ronde.protocol.gateways import load_gateways
from ronde.protocol.registry_data import load_badges
from ronde.protocol.signing import public_key_text


def site_files(folder: Path) -> dict[str, Path]:
    """Today's files of a site: the sample estate, two gateways, two badges, two tokens."""
    gateways = folder / "gateways.yaml"
    gateways.write_text(
        "format: ronde-gateways\nversion: 1\ngateways:\n"
        f"  - {{id: gw-mordacs-1, public_key: {public_key_text(Ed25519PrivateKey.generate())}, badges: [EQUIPE-A]}}\n"
        "  - {id: gw-spare, allow_unsigned: true}\n",
        encoding="utf-8",
    )
    badges = folder / "badges.yaml"
    badges.write_text(
        "format: ronde-badges\nversion: 1\nbadges:\n  - {badge: EQUIPE-A, team: Équipe A}\n"
        "  - {badge: EQUIPE-B, team: Équipe B, active: false}\n",
        encoding="utf-8",
    )
    tokens = folder / "tokens.yaml"
    tokens.write_text(
        f"tokens:\n  - {{sha256: {hash_token('a')}, name: supervision, role: supervisor}}\n"
        f"  - {{sha256: {hash_token('b')}, name: audit-ph, role: landlord, landlord: paris-habitat}}\n",
        encoding="utf-8",
    )
    return {"estate": default_estate_path(), "gateways": gateways, "badges": badges, "tokens": tokens}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def import_args(url: str, files: dict[str, Path]) -> list[str]:
    return ["registry", "import", "--url", url, *[a for k, p in files.items() for a in (f"--{k}", str(p))]]


def test_db_upgrade_and_current(
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RONDE_DATABASE_URL", db_url)  # the setting every server role reads
    code, _, err = run(capsys, "db", "current")
    assert code == 1
    assert "ronde db upgrade --url" in err
    code, _, err = run(capsys, "registry", "import", "--url", db_url, "--badges", "x.yaml")
    assert code == 2
    assert "no schema yet: run `ronde db upgrade" in err
    code, out, _ = run(capsys, "db", "upgrade", "--url", db_url)
    assert code == 0
    assert "upgraded from an empty database to migration" in out
    code, out, _ = run(capsys, "db", "current", "--url", db_url)
    assert code == 0
    assert "already" not in out
    code, out, _ = run(capsys, "db", "upgrade", "--url", db_url)
    assert code == 0
    assert "already at migration" in out


def test_import_then_export_gives_the_same_content(
    engine: Engine,
    db_url: str,
    box: SecretBox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = site_files(tmp_path)
    code, out, err = run(capsys, *import_args(db_url, files))
    assert code == 0, err
    sample = load_estate(default_estate_path())
    assert f"revision {sample.revision} (new revision), content digest {registry_digest(sample)}" in out
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    exported = {k: out_dir / f"{k}.yaml" for k in files}
    code, _, err = run(
        capsys,
        "registry",
        "export",
        "--url",
        db_url,
        "--with-eid-keys",
        *[a for k, p in exported.items() for a in (f"--{k}", str(p))],
    )
    assert code == 0, err
    again = load_estate(exported["estate"])
    assert registry_digest(again) == registry_digest(sample)
    assert again.revision == sample.revision
    # the plan's geometry (issue 16) comes back as it went in
    assert again.buildings == sample.buildings
    assert again.walkways == sample.walkways
    assert all(b.footprint for b in again.buildings.values())
    assert {c.id: c.beacon.identity_key for c in again.eid_checkpoints()} == {
        c.id: c.beacon.identity_key for c in sample.eid_checkpoints()
    }
    assert load_gateways(exported["gateways"]) == load_gateways(files["gateways"])
    assert load_badges(exported["badges"]) == load_badges(files["badges"])
    assert set(read_token_file(exported["tokens"]).tokens) == set(read_token_file(files["tokens"]).tokens)
    # re-importing what was exported changes nothing and adds no revision
    code, out, err = run(capsys, *import_args(db_url, exported))
    assert code == 0, err
    assert "(unchanged)" in out
    assert "gateways: 0 change(s)" in out
    assert "tokens: 0 change(s)" in out
    assert RegistryRepository(make_engine(db_url)).revision_count() == 1
    # an export without keys (the default) keeps the database's keys on re-import
    code, text, _ = run(capsys, "registry", "export", "--url", db_url)
    assert code == 0
    assert "identity_key" not in text
    keyless = tmp_path / "keyless.yaml"
    keyless.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "registry", "import", "--url", db_url, "--estate", str(keyless))
    assert code == 0, err
    assert "(unchanged)" in out, err
    opened = RegistryRepository(engine, box).registry_with_keys()
    assert opened is not None
    assert all(c.beacon.identity_key is not None for c in opened.eid_checkpoints())


def test_errors_name_file_field_and_line_and_nothing_is_written(
    engine: Engine,
    db_url: str,
    box: SecretBox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = site_files(tmp_path)
    text = default_estate_path().read_text(encoding="utf-8")
    lines = text.splitlines()
    first_landlord = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("landlord:"))
    lines[first_landlord] = lines[first_landlord].split(":")[0] + ": nobody"
    broken = tmp_path / "broken.yaml"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad_badges = tmp_path / "bad-badges.yaml"
    bad_badges.write_text("format: ronde-badges\nversion: 1\nbadges:\n  - {badge: 'not a badge', team: A}\n")
    code, _, err = run(capsys, *import_args(db_url, {**files, "estate": broken, "badges": bad_badges}))
    assert code == 1
    assert f"{broken}:{first_landlord + 1}:" in err
    assert "landlord: unknown landlord 'nobody'" in err
    assert f"{bad_badges}: badges[0].badge" in err
    repo = RegistryRepository(engine, box)
    assert repo.revision_count() == 0
    assert repo.version() == 0  # all or nothing: the gateways were not taken either
    code, _, _ = run(capsys, *import_args(db_url, files))
    assert code == 0
    changed = tmp_path / "changed.yaml"
    changed.write_text(
        text.replace("name:", "name: X", 1) if "name: " not in text else text.replace("name: ", "name: Changed ", 1),
        encoding="utf-8",
    )
    code, _, err = run(capsys, "registry", "import", "--url", db_url, "--estate", str(changed))
    assert code == 1
    assert "already used for another registry content" in err
    assert repo.revision_count() == 1


def test_import_if_empty_imports_once(
    engine: Engine,
    db_url: str,
    box: SecretBox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The compose stack's one-shot (``ronde-init``) runs ``registry import --if-empty`` at every start: the files
    seed a new deployment, and never undo what was changed through the API afterwards."""
    files = site_files(tmp_path)
    code, out, err = run(capsys, *import_args(db_url, files), "--if-empty")
    assert code == 0, err
    assert "(new revision)" in out, err
    repo = RegistryRepository(engine, box)
    repo.delete("checkpoints", sorted(load_estate(default_estate_path()).checkpoints)[0], author="api")
    code, out, err = run(capsys, *import_args(db_url, files), "--if-empty")
    assert code == 0, err
    assert "already holds a registry" in out, err
    assert "nothing imported" in out, err
    assert repo.revision_count() == 2  # the file's, then the API's change: not put back
