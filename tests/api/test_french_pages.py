"""French formats on the pages (issue 16, point 5) and the 30-day share that starts with the data
(point 1): no ISO date on a French page, dd/mm/yyyy date boxes, local times as "19 h 30"."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.api.support import PH_CP, auth

ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def _visible(html: str) -> str:
    """The page's text a person reads: no tags, attributes or URLs (those may be ISO, for machines)."""
    main = html.split("<main>", 1)[1]
    return re.sub(r"<[^>]+>", " ", main)


def test_no_iso_date_on_french_pages(client: TestClient) -> None:
    for path in ("/ui", "/ui/landlords/paris-habitat", f"/ui/checkpoints/{PH_CP}", "/ui/audit", "/ui/supervision"):
        html = client.get(path, headers=auth("tok-admin")).text
        assert '<html lang="fr">' in html
        text = _visible(html)
        assert not ISO.search(text), (path, ISO.findall(text))


def test_the_period_starts_with_the_first_evening_that_has_data(client: TestClient) -> None:
    """The fixture's data begins on Wednesday 25 November: the 30-day column covers 25–26/11, not 28
    empty evenings before it counted as "not covered"."""
    html = client.get("/ui", headers=auth("tok-admin")).text
    assert "Période du 25/11/2026 au 26/11/2026" in html
    row = html.split('data-landlord="paris-habitat"')[1].split("</tr>")[0]
    assert "4,2\u202f%" in row  # 3 checkpoint-days covered of 72 (2 evenings × 36), not of 30 × 36
    landlord = client.get("/ui/landlords/paris-habitat", headers=auth("tok-ph")).text
    per_day = landlord.split('id="per-day"')[1].split("</table>", 1)[0]
    assert per_day.count("<tr>") == 1 + 2  # header row and the two evenings with data
    english = client.get("/ui", params={"lang": "en"}, headers=auth("tok-admin")).text
    assert "Period from 25 Nov 2026 to 26 Nov 2026" in english


def test_times_and_date_boxes_in_french(client: TestClient) -> None:
    params = {"first": "25/11/2026", "last": "26/11/2026"}
    html = client.get(f"/ui/checkpoints/{PH_CP}", params=params, headers=auth("tok-super")).text
    assert 'value="25/11/2026"' in html
    assert 'placeholder="jj/mm/aaaa"' in html
    assert 'type="date"' not in html
    assert "<td>19 h 30</td>" in html  # Thursday's pass, local time
    assert ">16 h 00<" in html  # the timeline's axis
    assert html.count('class="visit"') == 3
    iso = client.get(f"/ui/checkpoints/{PH_CP}", params={"first": "2026-11-25", "last": "2026-11-26"})
    assert iso.status_code in (200, 303)  # machines' ISO dates are still accepted (303: not signed in)
    audit = client.get("/ui/audit", headers=auth("tok-admin")).text
    assert 'type="date"' not in audit
    assert re.search(r'name="first" value="\d{2}/\d{2}/\d{4}"', audit)
