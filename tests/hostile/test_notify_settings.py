"""The ``[notify]`` section refuses what cannot work, at start-up, naming the field (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ronde.settings import ConfigError, load_settings

GOOD = """
[notify]
smtp_host = "mail.example.org"
smtp_security = "tls"
smtp_port = 465
smtp_user = "ronde"
supervisors = ["astreinte@example.org"]
supervisor_webhook = "https://hooks.example.org/ronde"
bilan_day = 2
bilan_hour = 3
idle_minutes = {stairwell_hall = 60, playground = 240}

[notify.landlords.paris-habitat]
emails = ["direction@paris-habitat.example"]
urgent_reports = true
"""


def _load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> object:
    path = tmp_path / "ronde.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, environ=environ or {})


def test_a_good_section_is_read(tmp_path: Path) -> None:
    s = _load(tmp_path, GOOD, {"RONDE_SMTP_PASSWORD": "s3cret", "RONDE_WEBHOOK_SECRET": "k"})
    n = s.notify  # type: ignore[attr-defined]
    assert n.smtp_security == "tls"
    assert n.landlords["paris-habitat"].emails == ("direction@paris-habitat.example",)
    assert n.landlords["paris-habitat"].urgent_reports
    assert n.idle_minutes == {"stairwell_hall": 60, "playground": 240}
    assert n.smtp_password.get_secret_value() == "s3cret"


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("[notify]\nbilan_day = 31\n", "notify.bilan_day", "less than or equal to 28"),
        ('[notify]\nsmtp_security = "ssl"\n', "notify.smtp_security", "starttls"),
        ('[notify]\nsupervisors = ["not an address"]\n', "notify.supervisors", "not e-mail addresses"),
        ('[notify]\nsupervisor_webhook = "ftp://x"\n', "notify.supervisor_webhook", "http(s)"),
        ("[notify]\nidle_minutes = {hall = 30}\n", "notify.idle_minutes", "unknown checkpoint kinds"),
        ("[notify]\nidle_minutes = {stairwell_hall = 1}\n", "notify.idle_minutes", "5..1440"),
        ('[notify]\ntimezone = "Mars/Olympus"\n', "notify.timezone", "unknown time zone"),
        ("[notify]\nretry_base_s = 100\nretry_cap_s = 10\n", "notify", "retry_cap_s"),
        ("[notify]\nsmtp_port = 0\n", "notify.smtp_port", "greater than or equal to 1"),
        (
            '[notify.landlords.x]\nemails = ["a@b"]\nwebhook = "javascript:alert(1)"\n',
            "notify.landlords.x.webhook",
            "http",
        ),
        ('[notify]\nsmpt_host = "typo"\n', "notify.smpt_host", "unknown setting"),
        (
            '[notify]\nsupervisor_webhook = "https://x.example/' + "a" * 300 + '"\n',
            "notify.supervisor_webhook",
            "at most 300",
        ),
        ('[notify]\nsupervisors = ["' + "a" * 250 + '@b.example"]\n', "notify.supervisors", "not e-mail addresses"),
    ],
)
def test_a_bad_value_names_its_field(tmp_path: Path, text: str, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, text)
    message = str(exc.value)
    assert field in message
    assert words in message


def test_the_smtp_password_is_refused_in_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, '[notify]\nsmtp_user = "u"\nsmtp_password = "hunter2"\n')
    assert "a secret is never written in the settings file" in str(exc.value)
    assert "hunter2" not in str(exc.value)
