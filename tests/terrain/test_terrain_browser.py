"""The field app in real headless Chromium on a phone viewport (390×844) against the product's app
(``create_app_on_database`` under uvicorn): enrol from a supervisor's QR code URL, a technical report in three
taps and a sollicitation with an orientation online, three more records with the network cut through DevTools,
then back online: exactly those five records are stored once each, in the right landlords' queues.

Screenshots of the phone screens are written under a temporary folder whose path the test prints.
"""

from __future__ import annotations

import io
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from PIL import Image
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chromium.webdriver import ChromiumDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from ronde.api.access_log import AccessLog
from ronde.api.app import create_app_on_database
from ronde.api.settings import ApiSettings
from ronde.gateway.ulid import UlidGenerator, encode_ulid
from ronde.protocol.estate import load_default_estate
from ronde.store.records import WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.api.support import F3_CP, PH_CP, PH_CP2, THU, auth, fill, make_database, opdb_box, paris, visit
from tests.support.chromium import chromium, element_text, page_text
from tests.support.services import free_port

pytestmark = pytest.mark.browser

TEAM = "Équipe Nord"
BADGE = "EQUIPE-A"
PHONE = {"width": 390, "height": 844, "pixelRatio": 2.0}
PHOTO_MAX_PX = 1600  # app.js
OFFLINE = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
ONLINE = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}


@dataclass
class Site:
    url: str
    app: FastAPI
    store: SqliteStore
    partner: int
    port: int = 0
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None

    def api(self, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
        return httpx.request(method, self.url + path, headers=auth(token), timeout=10, **kw)

    def start(self) -> None:
        """Serve the app on ``port`` (again): the phone's signal coming back, as far as the server knows."""
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn-terrain", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        """No server at all: every request of the phone fails, its service worker's included."""
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(10)
            assert not self.thread.is_alive()
        self.server = self.thread = None


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    tmp = tmp_path
    registry = load_default_estate()
    store = SqliteStore(tmp / "ronde.db")
    store.open()
    fill(store, registry)
    # the phone's clock is the real one, so is the server's (a record made "in the future" is refused)
    engine = make_database(tmp, registry)
    app = create_app_on_database(ApiSettings(), store, engine, box=opdb_box(), access_log=AccessLog(tmp / "a.jsonl"))
    # the team's scanner passed Paris Habitat's hall B a few minutes ago: the app proposes that place first
    now = datetime.now(UTC)
    seen = visit(registry, PH_CP2, paris(THU, 19, 30), 2, badge=BADGE)
    seen = replace(seen, first_seen=now - timedelta(minutes=4), last_seen=now - timedelta(minutes=3), received_at=now)
    store.write(WriteBatch(visits=(seen,)))
    port = free_port()
    s = Site(f"http://127.0.0.1:{port}", app, store, 0, port)
    s.start()
    assert s.api("PUT", f"/api/v1/badges/{BADGE}", "tok-admin", json={"team": TEAM}).status_code == 200
    yield s
    s.stop()
    store.close()
    engine.dispose()


@pytest.fixture
def phone() -> Iterator[ChromiumDriver]:
    with chromium(mobile=PHONE, console=True) as driver:
        yield driver


class Shots:
    """Numbered screenshots of the phone's screens, kept after the test (their folder is printed)."""

    def __init__(self, driver: WebDriver) -> None:
        self.driver = driver
        self.folder = Path(tempfile.mkdtemp(prefix="ronde-terrain-shots-"))
        self.n = 0
        print(f"\nscreenshots of the phone screens: {self.folder}")

    def take(self, name: str) -> Path:
        self.n += 1
        path = self.folder / f"{self.n:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        return path


def _wait(driver: WebDriver, cond: Callable[[WebDriver], Any], timeout: float = 15) -> Any:
    # a page being replaced (a form's answer) makes elements stale for an instant: look again
    wait = WebDriverWait(driver, timeout, poll_frequency=0.02, ignored_exceptions=(StaleElementReferenceException,))
    return wait.until(cond)


def _visible(driver: WebDriver, css: str) -> WebElement:
    def find(d: WebDriver) -> WebElement | bool:
        found = [e for e in d.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]
        return found[0] if found else False

    element: WebElement = _wait(driver, find)
    return element


def _tap(driver: WebDriver, css: str) -> None:
    for _ in range(3):  # a list redrawn as data arrives (the outbox, the requests): find it again
        try:
            element = _visible(driver, css)
            assert element.size["height"] >= 48, f"{css}: a target under 48 px ({element.size})"
            # as a thumb does: bring it to the middle of the screen (the sticky "Envoyer" bar covers the bottom)
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
            element.click()
        except StaleElementReferenceException:
            continue
        except WebDriverException as exc:  # Chromium's other word for a node redrawn between find and tap
            if "does not belong to the document" not in str(exc):
                raise
            continue
        return
    raise AssertionError(f"{css}: redrawn under every tap")


def _landlord_ids(site: Site, token: str) -> list[str]:
    r = site.api("GET", "/api/v1/field/records?limit=100", token)
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


def _sign_in(driver: WebDriver, base: str, token: str, path: str) -> None:
    driver.get(base + path)
    _visible(driver, "#token").send_keys(token)
    driver.find_element(By.ID, "sign-in").click()
    _wait(driver, lambda d: "/login" not in d.current_url)


def _camera_photo(folder: Path) -> Path:
    """A 3000×2000 JPEG as a phone camera makes it, with a GPS position in its EXIF."""
    image = Image.new("RGB", (3000, 2000), (90, 90, 90))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (48.0, 48.0, 10.0), 3: "E", 4: (2.0, 31.0, 5.0)})
    path = folder / "camera.jpg"
    image.save(path, "JPEG", exif=exif, quality=90)
    assert Image.open(path).getexif().get_ifd(0x8825)
    return path


def _pending(driver: WebDriver) -> int:
    return int(driver.find_element(By.ID, "pending").get_attribute("data-pending") or 0)


def _report(driver: WebDriver, category: str) -> None:
    _tap(driver, "#new-report")
    _tap(driver, f'#categories button[data-id="{category}"]')
    _tap(driver, "#report-send")


def _sollicitation(driver: WebDriver, origin: str, kind: str, response: str, partner: int | None) -> None:
    _tap(driver, "#new-solli")
    for name, value in (("origin", origin), ("type", kind), ("response", response)):
        _tap(driver, f'label[for="{name}-{value}"]')
    if partner is not None:
        select = _visible(driver, "#solli-partner")
        driver.execute_script(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change'));", select, str(partner)
        )
    driver.find_element(By.ID, "solli-send").click()


def _fetch_fails(driver: WebDriver) -> bool:
    result = driver.execute_async_script(
        "var done = arguments[0]; fetch('/healthz', {cache: 'no-store'})"
        ".then(function () { done('answered'); }, function (e) { done('failed: ' + e.message); });"
    )
    return str(result).startswith("failed")


def test_enrol_report_offline_and_back_online(site: Site, phone: ChromiumDriver) -> None:
    shots = Shots(phone)
    r = site.api(
        "PUT",
        "/api/v1/partners/1",
        "tok-admin",
        json={"name": "CCAS de Champigny", "kind": "ccas", "estates": ["mordacs"]},
    )
    assert r.status_code in (200, 201), r.text
    site.partner = 1
    # the supervisor's page makes a one-time code; its QR code carries /terrain/#enrol=<code>, also written out
    _sign_in(phone, site.url, "tok-super", "/ui/terrain/enrolment")
    _visible(phone, "#new-code").click()  # the pages are not the phone app: no 48 px rule
    qr = _visible(phone, "figure.qr svg")
    assert qr.size["width"] >= 150
    shots.take("supervisor-qr-code")
    enrol_url = phone.find_element(By.ID, "enrol-url").text
    assert enrol_url.startswith(site.url + "/terrain/#enrol=")
    code = enrol_url.split("#enrol=")[1]
    phone.find_element(By.CSS_SELECTOR, "header form button").click()  # the supervisor signs out
    _wait(phone, lambda d: "/login" in d.current_url)

    phone.get(enrol_url)
    code_box = _visible(phone, "#enrol-code")
    assert code_box.get_attribute("value") == code
    shots.take("enrolment")
    _tap(phone, "#enrol-submit")
    _wait(phone, lambda d: TEAM in element_text(d, "team"))
    _visible(phone, "#new-report")
    assert phone.execute_script("return location.hash") == ""  # the one-time code leaves the address bar
    _wait(phone, lambda d: d.execute_script("return !!(navigator.serviceWorker && navigator.serviceWorker.controller)"))
    shots.take("home")

    # 1. a technical report in three taps: the scanner's place is proposed, category, Envoyer
    _tap(phone, "#new-report")
    _wait(phone, lambda d: "Hall B" in d.find_element(By.ID, "report-place").text)
    shots.take("report-categories")
    _tap(phone, '#categories button[data-id="eclairage"]')
    shots.take("report-send")
    before = set(_landlord_ids(site, "tok-ph"))
    started = time.perf_counter()
    phone.find_element(By.ID, "report-send").click()
    while not set(_landlord_ids(site, "tok-ph")) - before:
        assert time.perf_counter() - started < 10, "the report did not reach the landlord's queue"
    tap_to_queue = time.perf_counter() - started
    print(f"tap 'Envoyer' → record in the landlord's queue (loopback): {tap_to_queue * 1000:.0f} ms")
    _wait(phone, lambda d: _pending(d) == 0)
    shots.take("report-sent")

    # 2. a sollicitation with an orientation to a partner
    _sollicitation(phone, "locataire", "voisinage", "orientation", None)
    _visible(phone, "#solli-error")  # an orientation needs a partner: said, not sent
    said = phone.find_element(By.ID, "solli-error").text
    assert "partenaire" in said, said
    select = _visible(phone, "#solli-partner")
    phone.execute_script("arguments[0].value = arguments[1];", select, str(site.partner))
    assert phone.find_element(By.CSS_SELECTOR, "input[name=status][value=orientee]").is_selected()
    shots.take("sollicitation")
    phone.find_element(By.ID, "solli-send").click()
    _wait(phone, lambda d: _pending(d) == 0 and "envoy" in d.find_element(By.ID, "flash").text)
    assert len(_landlord_ids(site, "tok-ph")) == 2

    # 3. no network: DevTools cuts the page's requests (checked), three more records are kept on the phone
    phone.execute_cdp_cmd("Network.enable", {})
    phone.execute_cdp_cmd("Network.emulateNetworkConditions", OFFLINE)
    assert _fetch_fails(phone), "the emulated offline network did not stop the page's requests"
    _wait(phone, lambda d: "hors ligne" in d.find_element(By.ID, "net").text)
    _report(phone, "ascenseur")
    _wait(phone, lambda d: _pending(d) == 1)
    _tap(phone, "#new-report")
    _tap(phone, '.change-place[data-for="report"]')
    search = _visible(phone, "#place-search")
    search.send_keys("salengro hall a")
    shots.take("places-search")
    _tap(phone, f'#place-list button[data-id="{F3_CP}"]')
    _tap(phone, '#categories button[data-id="porte_acces"]')
    _tap(phone, "#report-urgent + span")
    phone.find_element(By.ID, "report-photo").send_keys(str(_camera_photo(shots.folder)))
    _wait(phone, lambda d: "Photo jointe" in d.find_element(By.ID, "report-photo-name").text)
    _tap(phone, "#report-text-box summary")
    phone.find_element(By.ID, "report-text").send_keys("Porte de hall bloquée ouverte")
    phone.find_element(By.ID, "report-send").click()
    _wait(phone, lambda d: _pending(d) == 2)
    _sollicitation(phone, "spontanee", "occupation_hall", "ecoute_mediation", None)
    _wait(phone, lambda d: _pending(d) == 3)
    assert phone.find_element(By.ID, "pending").text == "3 envoi(s) en attente"
    shots.take("offline-queue")
    time.sleep(1.0)  # the page's own retry tick must not get through either
    assert len(_landlord_ids(site, "tok-ph")) == 2
    assert _landlord_ids(site, "tok-3f") == []

    # 4. the signal is back: the queue empties by itself, once
    phone.execute_cdp_cmd("Network.emulateNetworkConditions", ONLINE)
    _wait(phone, lambda d: _pending(d) == 0 and not d.find_element(By.ID, "pending").is_displayed(), timeout=30)
    shots.take("back-online")
    mine = site.api("GET", "/api/v1/terrain/records", _device_token(phone))
    assert mine.status_code == 200, mine.text
    records = mine.json()["items"] if isinstance(mine.json(), dict) else mine.json()
    ids = [x["id"] for x in records]
    assert len(ids) == 5
    assert len(set(ids)) == 5
    ph, f3 = _landlord_ids(site, "tok-ph"), _landlord_ids(site, "tok-3f")
    assert len(ph) == 4
    assert len(f3) == 1
    assert set(ph) | set(f3) == set(ids)
    assert not set(ph) & set(f3)
    door = site.api("GET", f"/api/v1/field/records/{f3[0]}", "tok-3f").json()
    assert door["urgency"] == "urgent"
    assert door["category"] == "porte_acces"
    assert door["has_photo"] is True
    photo = site.api("GET", f"/api/v1/field/records/{f3[0]}/photo", "tok-3f")
    assert photo.status_code == 200
    served = Image.open(io.BytesIO(photo.content))
    assert served.size[0] <= PHOTO_MAX_PX  # shrunk on the phone before it was queued
    assert not served.getexif()
    assert "exif" not in served.info
    assert site.api("GET", f"/api/v1/field/records/{f3[0]}/photo", "tok-ph").status_code == 404
    assert TEAM not in str(door)
    assert BADGE not in str(door)
    # the landlord's queue page: its four records, the urgent door report is not there (another landlord's)
    # (the landlord's pages at the same phone width: an agency's caretaker reads them on a phone too)
    _sign_in(phone, site.url, "tok-ph", "/ui/signalements")
    rows = phone.find_elements(By.CSS_SELECTOR, "#queue tr[data-record]")
    assert sorted(str(r.get_attribute("data-record")) for r in rows) == sorted(ph)
    assert TEAM not in phone.page_source
    shots.take("landlord-queue")
    phone.find_element(By.CSS_SELECTOR, f'tr[data-record="{ph[-1]}"] a').click()
    _visible(phone, "#set-pris_en_compte").click()
    _wait(phone, lambda d: "Statut enregistré" in page_text(d))
    shots.take("landlord-record-acknowledged")
    entries: list[dict[str, str]] = phone.get_log("browser")  # type: ignore[no-untyped-call]
    logs = [e for e in entries if e.get("level") == "SEVERE" and "Content Security" in e["message"]]
    assert logs == []


def _device_token(driver: WebDriver) -> str:
    token = driver.execute_async_script(
        "var done = arguments[0]; RondeQueue.get('token').then(done, function () { done(''); });"
    )
    assert isinstance(token, str)
    assert token
    return token


def test_installable_and_outbox_unit_ulids_and_backoff(site: Site, phone: ChromiumDriver) -> None:
    """Chromium finds the app installable (manifest, icons, a worker controlling it); the queue's pure parts
    run in the browser: ULIDs sortable and unique, backoff capped."""
    phone.get(site.url + "/terrain/")
    _wait(phone, lambda d: d.execute_script("return !!window.RondeQueue"))
    _wait(phone, lambda d: d.execute_script("return !!(navigator.serviceWorker && navigator.serviceWorker.controller)"))
    manifest = phone.execute_cdp_cmd("Page.getAppManifest", {})
    assert manifest["errors"] == [], manifest["errors"]
    assert manifest["url"].endswith("/terrain/manifest.webmanifest")
    installable = phone.execute_cdp_cmd("Page.getInstallabilityErrors", {})
    assert installable["installabilityErrors"] == [], installable
    phone.get(site.url + "/login")  # the check is not vacuous: a page with no manifest is not installable
    assert phone.execute_cdp_cmd("Page.getInstallabilityErrors", {})["installabilityErrors"]
    phone.get(site.url + "/terrain/")
    _wait(phone, lambda d: d.execute_script("return !!window.RondeQueue"))
    out = phone.execute_script(
        "var ids = []; for (var i = 0; i < 2000; i++) { ids.push(RondeQueue.ulid(1764183600000)); }"
        "var later = RondeQueue.ulid(1764183600001);"
        "return {ids: ids, later: later, b: [1, 2, 3, 10, 50].map(RondeQueue.backoff),"
        " max: RondeQueue.BACKOFF_MAX_MS};"
    )
    ids: list[str] = out["ids"]
    assert all(len(i) == 26 and set(i) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert out["later"] > ids[-1]
    assert {i[:10] for i in ids} == {encode_ulid(1764183600000 << 80)[:10]}  # the time part as the gateway's
    assert out["b"][0] == 5000
    assert out["b"] == sorted(out["b"])
    assert out["b"][-1] == out["max"] == 300000
    with pytest.raises(WebDriverException):
        phone.execute_script("return RondeQueue.nope()")


def _enrol_by_api(site: Site, phone: WebDriver) -> str:
    r = site.api("POST", "/api/v1/terrain/enrolments", "tok-super", json={"team": TEAM})
    assert r.status_code == 201, r.text
    phone.get(site.url + r.json()["enrol_url"])
    _tap(phone, "#enrol-submit")
    _wait(phone, lambda d: TEAM in element_text(d, "team"))
    return _device_token(phone)


def _queued(driver: WebDriver) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = driver.execute_async_script(
        "var done = arguments[0]; RondeQueue.all().then(function (all) {"
        " done(all.map(function (i) { return {id: i.id, state: i.state, attempts: i.attempts, error: i.error}; }));"
        "});"
    )
    return items


def test_a_refused_record_is_shown_not_retried_and_a_revoked_phone_keeps_its_records(
    site: Site, phone: ChromiumDriver
) -> None:
    """The queue's rules on real answers: a 422 is an error for the team (kept, shown, sent again only when
    asked), a 401 (revoked phone) keeps the record queued for a retry, nothing is lost."""
    shots = Shots(phone)
    _enrol_by_api(site, phone)
    bad_id = phone.execute_async_script(
        "var done = arguments[arguments.length - 1]; var id = RondeQueue.ulid();"
        "RondeQueue.enqueue('report', {id: id, created_at: new Date().toISOString(),"
        " place: {checkpoint: arguments[0]}, category: 'pas-une-categorie', urgency: 'normal'})"
        ".then(function () { window.dispatchEvent(new Event('online')); done(id); });",
        PH_CP,
    )
    _wait(phone, lambda d: d.find_element(By.ID, "pending").get_attribute("data-errors") == "1")
    # the outbox list is redrawn as data arrives: read the card afresh each time
    card = f'#outbox li[data-id="{bad_id}"][data-state="error"]'
    # one read of the card's text per look (a redraw between a find and its read leaves a stale element)
    text = _wait(phone, lambda d: next((t for t in [d.find_element(By.CSS_SELECTOR, card).text] if "422" in t), None))
    assert "À corriger" in text
    shots.take("refused-record")
    time.sleep(6.5)  # more than one retry tick: an error is not sent again on its own
    (item,) = _queued(phone)
    assert item["attempts"] == 1
    assert item["state"] == "error"
    assert _landlord_ids(site, "tok-ph") == []
    _tap(phone, f'#outbox li[data-id="{bad_id}"] button.danger')  # "Supprimer"
    _wait(phone, lambda d: _queued(d) == [])

    # the phone is revoked: what it records stays queued (401 is retried), never dropped
    (device,) = site.api("GET", "/api/v1/terrain/devices", "tok-super").json()
    assert site.api("DELETE", f"/api/v1/terrain/devices/{device['device_id']}", "tok-super").status_code == 204
    _tap(phone, "#new-report")
    _tap(phone, '.change-place[data-for="report"]')  # the scanner's suggestion is refused to a revoked phone
    _visible(phone, "#place-search").send_keys("albert thomas hall a")
    _tap(phone, f'#place-list button[data-id="{PH_CP}"]')
    _tap(phone, '#categories button[data-id="tags"]')
    _tap(phone, "#report-send")
    _wait(phone, lambda d: any(i["attempts"] >= 1 for i in _queued(d)))
    (kept,) = _queued(phone)
    assert kept["state"] == "pending"
    assert "401" in kept["error"]
    assert _pending(phone) == 1
    # the flash follows the queue's record of the attempt (a fresh-clone run under load read it in between)
    _wait(phone, lambda d: "n'est plus autorisé" in d.find_element(By.ID, "flash").text)
    shots.take("revoked-phone")
    assert _landlord_ids(site, "tok-ph") == []


def test_a_request_is_answered_from_the_phone(site: Site, phone: ChromiumDriver) -> None:
    """Landlord asks, supervisor assigns, the team answers from the phone's list: the landlord sees "traitée"
    with the delay, and the team's name never reaches it."""
    shots = Shots(phone)
    request_id = UlidGenerator().new(time.time())
    posted = site.api(
        "POST",
        "/api/v1/field/requests",
        "tok-ph",
        json={"id": request_id, "place": {"checkpoint": PH_CP}, "text": "Regroupement signalé dans le hall A ce soir"},
    )
    assert posted.status_code == 201, posted.text
    assigned = site.api("POST", f"/api/v1/field/requests/{request_id}/assign", "tok-super", json={"team": TEAM})
    assert assigned.status_code == 200, assigned.text
    _enrol_by_api(site, phone)
    card = _visible(phone, f'#requests li[data-id="{request_id}"]')
    assert "Regroupement signalé" in card.text
    shots.take("assigned-request")
    _tap(phone, f'#requests li[data-id="{request_id}"] button')
    assert "Regroupement signalé" in _visible(phone, "#solli-request").text
    assert "Hall A" in phone.find_element(By.ID, "solli-place").text
    assert phone.find_element(By.CSS_SELECTOR, "input[name=origin][value=commanditaire]").is_selected()
    for name, value in (("type", "occupation_hall"), ("response", "ecoute_mediation"), ("status", "close")):
        _tap(phone, f'label[for="{name}-{value}"]')
    shots.take("request-answer")
    _tap(phone, "#solli-send")
    _wait(phone, lambda d: _pending(d) == 0 and "envoy" in d.find_element(By.ID, "flash").text)
    seen = site.api("GET", f"/api/v1/field/requests/{request_id}", "tok-ph").json()
    assert seen["status"] == "traitee"
    assert seen["answer_delay_s"] is not None
    assert seen["response"]["response"] == "ecoute_mediation"
    assert TEAM not in str(seen)
    _sign_in(phone, site.url, "tok-ph", "/ui/demandes")
    row = _visible(phone, f'tr[data-request="{request_id}"]')
    assert row.get_attribute("data-status") == "traitee"
    assert "Traitée" in row.text
    assert TEAM not in phone.page_source
    shots.take("landlord-requests")


def test_the_app_opens_and_records_with_no_server_then_sends_on_next_opening(site: Site, phone: ChromiumDriver) -> None:
    """No server at all (stronger than DevTools' offline, which leaves the service worker's own requests
    through): the app opens from its cache, the estate list too, a report is kept; the server back, the next
    opening sends it, once."""
    shots = Shots(phone)
    _enrol_by_api(site, phone)
    _wait(phone, lambda d: d.execute_script("return !!(navigator.serviceWorker && navigator.serviceWorker.controller)"))
    _wait(
        phone,
        lambda d: d.execute_async_script(
            "var done = arguments[0]; caches.match('/api/v1/terrain/places').then(function (r) { done(!!r); });"
        ),
    )
    site.stop()
    phone.get(site.url + "/terrain/")  # the shell from the worker's cache
    _wait(phone, lambda d: TEAM in element_text(d, "team"))
    _tap(phone, "#new-report")
    _tap(phone, '.change-place[data-for="report"]')
    _visible(phone, "#place-search").send_keys("albert thomas hall a")
    _tap(phone, f'#place-list button[data-id="{PH_CP}"]')  # the estate list from the cache
    _tap(phone, '#categories button[data-id="proprete"]')
    _tap(phone, "#report-send")
    _wait(phone, lambda d: _pending(d) == 1 and _queued(d)[0]["attempts"] >= 1)
    assert phone.find_element(By.ID, "net").text == "serveur injoignable"  # the phone has a network, not us
    shots.take("no-server-queued")
    body = phone.execute_async_script(
        "var done = arguments[0]; RondeQueue.all().then(function (all) { done(all[0].body); });"
    )
    site.start()
    phone.get(site.url + "/terrain/")  # the next opening sends what is queued
    _wait(phone, lambda d: _pending(d) == 0 and _queued(d) == [])
    _wait(phone, lambda d: d.find_element(By.ID, "net").text == "en ligne")
    mine = site.api("GET", "/api/v1/terrain/records", _device_token(phone)).json()
    records = mine["items"] if isinstance(mine, dict) else mine
    assert [(r["category"], r["place"]["checkpoint"]) for r in records] == [("proprete", PH_CP)]
    assert len(_landlord_ids(site, "tok-ph")) == 1

    # its answer lost, the phone sends it again: the server's 200 (same id, same content) empties the queue,
    # nothing is stored twice; the same id with other content (409) is an error for the team, not a retry
    resend = (
        "var done = arguments[arguments.length - 1];"
        "RondeQueue.enqueue('report', arguments[0]).then(function () { return RondeQueue.flush(true); })"
        ".then(function (r) { done(r); });"
    )
    again = phone.execute_async_script(resend, body)
    assert again["sent"] == 1
    assert again["left"] == 0
    assert _queued(phone) == []
    forged = phone.execute_async_script(resend, {**body, "category": "tags"})
    assert forged["errors"] == 1
    (item,) = _queued(phone)
    assert "409" in item["error"]
    assert len(_landlord_ids(site, "tok-ph")) == 1
