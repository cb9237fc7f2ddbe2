from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ronde.gateway.cli import register
from ronde.gateway.keys import KeyFileError, create_key, load_key
from ronde.protocol.signing import public_key_from_text, public_key_text, sign, verify


def test_key_is_private_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "device.key"
    key = create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_key(path)
    assert public_key_text(loaded) == public_key_text(key)
    signed = sign({"a": 1}, loaded)
    assert verify(signed, public_key_from_text(public_key_text(key)))


def test_existing_key_is_not_overwritten_without_force(tmp_path: Path) -> None:
    path = tmp_path / "device.key"
    first = public_key_text(create_key(path))
    with pytest.raises(KeyFileError, match="already exists"):
        create_key(path)
    assert public_key_text(load_key(path)) == first
    assert public_key_text(create_key(path, force=True)) != first


def test_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "device.key"
    create_key(path)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_key(path)


def test_missing_or_garbage_key(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="ronde gateway enroll"):
        load_key(tmp_path / "nope.key")
    bad = tmp_path / "bad.key"
    bad.write_text("hello")
    bad.chmod(0o600)
    with pytest.raises(KeyFileError, match="not a PEM"):
        load_key(bad)


def test_enroll_command_prints_the_public_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ronde.cli import main

    path = tmp_path / "device.key"
    assert main(["gateway", "enroll", "--gateway-id", "gw-mordacs-1", "--key-file", str(path)]) == 0
    out = capsys.readouterr().out
    assert "gateway_id: gw-mordacs-1" in out
    public = out.split("public_key: ")[1].strip()
    assert public == public_key_text(load_key(path))
    assert len(public) == 43  # 32 bytes, base64url without padding
    assert main(["gateway", "enroll", "--gateway-id", "gw-mordacs-1", "--key-file", str(path)]) == 1
    assert main(["gateway", "enroll", "--gateway-id", "Bad Id", "--key-file", str(path)]) == 2
    assert callable(register)
