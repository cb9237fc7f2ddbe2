"""The ``[field]`` settings section (issue 14) reaches the API: retention per kind, photo limits, media folder;
a bad value is refused at start-up naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from ronde.api.field_context import FieldConfig, field_config
from ronde.opdb.field_policy import DEFAULT_FIELD_RETENTION
from ronde.settings import ConfigError, load_settings
from tests.api.field_support import field_app, jpeg_with_gps
from tests.api.support import auth


def test_the_section_defaults_are_the_retention_defaults() -> None:
    assert load_settings(environ={}).field.retention() == DEFAULT_FIELD_RETENTION
    assert field_config(load_settings(environ={}).field) == FieldConfig()


def test_the_section_reaches_the_app(tmp_path: Path) -> None:
    media = tmp_path / "photos"
    settings = load_settings(
        environ={
            "RONDE_FIELD__MEDIA_DIR": str(media),
            "RONDE_FIELD__CONTACT_DAYS": "7",
            "RONDE_FIELD__MAX_PHOTO_PX": "100",
        }
    )
    config = field_config(settings.field)
    assert config.retention.contact_days == 7
    gen = field_app(tmp_path, media_dir=config.media_dir, max_photo_px=config.max_photo_px)
    fa = next(gen)
    _, token = fa.enrol()
    body = fa.report(token)
    r = fa.client.put(
        f"/api/v1/terrain/reports/{body['id']}/photo",
        content=jpeg_with_gps(),
        headers={**auth(token), "Content-Type": "image/jpeg"},
    )
    assert (r.json()["width"], r.json()["height"]) == (100, 75)
    assert (media / r.json()["sha256"][:2] / r.json()["sha256"]).is_file()
    for _ in gen:
        pass


def test_a_bad_value_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(environ={"RONDE_FIELD__CONTACT_DAYS": "0"})
    assert "field.contact_days" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        load_settings(environ={"RONDE_FIELD__MEDIA_DIR": str(tmp_path / "no" / "such")})
    assert "field.media_dir" in str(exc.value)
