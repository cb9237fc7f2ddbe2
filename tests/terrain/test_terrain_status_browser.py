"""A team orients and closes its own sollicitations from the phone's list (issue 14's gap), in real headless
Chromium on a 390×844 phone against the product's app under uvicorn: "Orienter" then the partner (two taps),
"Clore" (one tap); a step made with the network cut (DevTools) is kept in the outbox, shown at once, and sent
once when the signal returns; the landlord's queue then shows the new status."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from selenium.webdriver.chromium.webdriver import ChromiumDriver
from selenium.webdriver.common.by import By

from ronde.gateway.ulid import UlidGenerator
from tests.api.support import PH_CP
from tests.support.chromium import element_text
from tests.terrain.test_terrain_browser import (
    OFFLINE,
    ONLINE,
    Shots,
    Site,
    _enrol_by_api,
    _fetch_fails,
    _pending,
    _tap,
    _visible,
    _wait,
    phone,
    site,
)

__all__ = ["phone", "site"]
ULIDS = UlidGenerator()
SLOW = 45  # seconds: the machine is shared with other test runs


def _open_sollicitation(s: Site, token: str) -> str:
    rid = ULIDS.new(time.time())
    body = {
        "id": rid,
        "created_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "place": {"checkpoint": PH_CP},
        "origin": "locataire",
        "type": "voisinage",
        "response": "ecoute_mediation",
    }
    r = s.api("POST", "/api/v1/terrain/sollicitations", token, json=body)
    assert r.status_code == 201, r.text
    return rid


def _status(s: Site, rid: str) -> tuple[str, int | None]:
    r = s.api("GET", f"/api/v1/field/records/{rid}", "tok-ph")  # Paris Habitat owns the place
    assert r.status_code == 200, r.text
    return r.json()["status"], r.json()["partner"]


def test_the_team_orients_and_closes_its_sollicitations_online_and_offline(site: Site, phone: ChromiumDriver) -> None:
    shots = Shots(phone)
    partner = {"name": "Centre social des Mordacs", "kind": "association", "estates": ["mordacs"]}
    assert site.api("PUT", "/api/v1/partners/1", "tok-admin", json=partner).status_code in (200, 201)
    token = _enrol_by_api(site, phone)
    first, second = _open_sollicitation(site, token), _open_sollicitation(site, token)
    phone.get(site.url + "/terrain/")  # the list the phone keeps: its team's records
    _visible(phone, f'#mine li[data-id="{second}"]')
    assert "Statut : Ouverte" in element_text(phone, "mine")
    shots.take("open-sollicitations")

    # online: "Orienter", then the partner: two taps, sent at once
    _tap(phone, f'#mine li[data-id="{first}"] button.orient')
    shots.take("orient-to-partner")
    _tap(phone, f'#mine li[data-id="{first}"] .partners button[data-partner="1"]')
    _wait(phone, lambda d: _status(site, first) == ("orientee", 1), timeout=SLOW)
    _wait(phone, lambda d: _pending(d) == 0, timeout=SLOW)

    # no network: "Clore" is one tap, kept in the outbox and shown at once; nothing reaches the server
    phone.execute_cdp_cmd("Network.enable", {})
    phone.execute_cdp_cmd("Network.emulateNetworkConditions", OFFLINE)
    assert _fetch_fails(phone), "the emulated offline network did not stop the page's requests"
    _tap(phone, f'#mine li[data-id="{second}"] button.close')
    _wait(phone, lambda d: _pending(d) == 1)
    assert not phone.find_elements(By.CSS_SELECTOR, f'#mine li[data-id="{second}"]')  # closed: off the list
    _wait(phone, lambda d: "Statut" in element_text(d, "outbox") and "Close" in element_text(d, "outbox"))
    shots.take("offline-close-queued")
    time.sleep(1.0)  # the page's own retry tick must not get through either
    assert _status(site, second) == ("ouverte", None)

    # the signal is back: the step goes once, and the landlord's queue shows it closed
    phone.execute_cdp_cmd("Network.emulateNetworkConditions", ONLINE)
    _wait(phone, lambda d: _pending(d) == 0, timeout=SLOW)
    assert _status(site, second) == ("close", None)
    steps = site.api("GET", f"/api/v1/field/records/{second}", "tok-ph").json()["timeline"]
    assert [x["status"] for x in steps] == ["ouverte", "close"]
    _wait(phone, lambda d: "Statut : Orientée" in element_text(d, "mine"), timeout=SLOW)
    _tap(phone, f'#mine li[data-id="{first}"] button.close')
    _wait(phone, lambda d: _status(site, first) == ("close", 1), timeout=SLOW)
    _wait(phone, lambda d: "Aucune sollicitation en cours" in element_text(d, "mine"), timeout=SLOW)
    shots.take("all-closed")
    listed = site.api("GET", "/api/v1/field/records?status=close", "tok-ph").json()["items"]
    assert {x["id"] for x in listed} == {first, second}
