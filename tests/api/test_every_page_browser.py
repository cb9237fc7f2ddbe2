"""Every page, as each role sees it, in headless Chromium at desktop and phone widths (issue 16, tests):
a screenshot, what a person sees on it, and axe-core's audit (no serious or critical violation).

``test_pages_browser.py`` and ``test_plan_browser.py`` look closer at the staff's overview, plan, checkpoint,
audit and supervision pages; this module makes sure no page is left out: the landlord's own pages, the
field pages (signalements and a record, demandes, team phones) and the field app's screens on the phone and
on a desktop window. On every French page: ``lang="fr"``, a heading, no ISO date, no raw badge, no
landlord id, nothing wider than the window. Screenshots go to ``RONDE_SCREENSHOTS`` when set (kept), else
to the test's folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from ronde.protocol.estate import load_default_estate
from tests.api.field_support import BADGE_A, BADGE_B, TEAM_A, FieldApp, field_app, ulid
from tests.api.support import PH_CP, auth
from tests.api.test_accessibility import audit
from tests.support.axe import axe_script
from tests.support.chromium import DESKTOP, PHONE, chromium, element_text, login, serve, wait_loaded

pytestmark = pytest.mark.browser

ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
BADGES = (BADGE_A, BADGE_B)
LANDLORD_IDS = ("paris-habitat", "immobiliere-3f", "valophis", "toit-et-joie")
SIZES = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
REQUEST_TEXT = "Regroupement signalé dans le hall A ce soir"


@dataclass(frozen=True)
class Site:
    url: str
    fa: FieldApp
    report_id: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The product's app on its operational database: a team phone enrolled, a technical report at Paris
    Habitat's hall A, a sollicitation at Immobilière 3F's, and a request Paris Habitat posted."""
    gen = field_app(tmp_path_factory.mktemp("every-page"))
    fa = next(gen)
    _, token = fa.enrol()
    report = fa.report(token)
    fa.sollicitation(token)
    posted = fa.client.post(
        "/api/v1/field/requests",
        json={"id": ulid(), "place": {"checkpoint": PH_CP}, "text": REQUEST_TEXT},
        headers=auth("tok-ph"),
    )
    assert posted.status_code == 201, posted.text
    with serve(fa.app) as url:
        yield Site(url, fa, str(report["id"]))
    next(gen, None)  # the rest of field_app: its client, store and database closed


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_script()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    keep = os.environ.get("RONDE_SCREENSHOTS")
    folder = Path(keep) if keep else tmp_path_factory.mktemp("every-page-shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _main(driver: WebDriver) -> str:
    return str(driver.find_element(By.TAG_NAME, "main").text)


def _sees(*texts: str) -> Callable[[WebDriver], None]:
    def check(driver: WebDriver) -> None:
        shown = _main(driver).replace("\u202f", " ")
        for text in texts:
            assert text in shown, (text, shown[:400])

    return check


def _buildings(count: int) -> Callable[[WebDriver], None]:
    def check(driver: WebDriver) -> None:
        names = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "svg#plan text.building-name")]
        assert len(names) == count
        assert all(names)
        assert driver.find_element(By.CSS_SELECTOR, "ul.plan-legend").is_displayed()

    return check


def _headers(table_id: str, expected: list[str]) -> Callable[[WebDriver], None]:
    def check(driver: WebDriver) -> None:
        heads = [th.get_attribute("textContent") for th in driver.find_elements(By.CSS_SELECTOR, f"#{table_id} th")]
        assert heads[: len(expected)] == expected, heads

    return check


def _all(*checks: Callable[[WebDriver], None]) -> Callable[[WebDriver], None]:
    def check(driver: WebDriver) -> None:
        for c in checks:
            c(driver)

    return check


def _pages(report_id: str) -> dict[str, list[tuple[str, str, Callable[[WebDriver], None]]]]:
    """Per token, the pages that role uses: (name, path, what a person sees there)."""
    registry = load_default_estate()
    ph_buildings = sum(1 for b in registry.buildings.values() if b.landlord == "paris-habitat" and b.footprint)
    every_building = sum(1 for b in registry.buildings.values() if b.footprint)
    hall = "Hall A – 4 rue Albert Thomas"
    staff = [
        ("overview", "/ui", _sees("Paris Habitat", "Immobilière 3F", "%")),
        ("plan", "/ui/plan", _buildings(every_building)),
        ("landlord", "/ui/landlords/paris-habitat", _all(_sees("Paris Habitat", hall), _buildings(ph_buildings))),
        ("checkpoint", f"/ui/checkpoints/{PH_CP}?first=25/11/2026&last=26/11/2026", _sees(hall, "19 h 30")),
        (
            "supervision",
            "/ui/supervision",
            _all(
                _headers("stale", ["Point de passage", "Bailleur", "Sans passage depuis", "Dernier passage"]),
                _sees("Paris Habitat", TEAM_A),
            ),
        ),
        ("audit", "/ui/audit", _sees("Télécharger le PDF", "Bilans mensuels")),
        ("signalements", "/ui/signalements", _sees(hall, "Paris Habitat", "Immobilière 3F", "Éclairage")),
        ("signalement", f"/ui/signalements/{report_id}", _sees("Éclairage", hall, "Nouveau", "Étapes")),
        ("demandes", "/ui/demandes", _sees(REQUEST_TEXT, hall, "Nouvelle")),
        ("telephones", "/ui/terrain/enrolment", _sees("Créer un code d'enrôlement", TEAM_A, "actif")),
    ]
    landlord = [
        ("overview", "/ui", _sees("Paris Habitat", "%")),
        ("landlord", "/ui/landlords/paris-habitat", _all(_sees("Paris Habitat", hall), _buildings(ph_buildings))),
        ("plan", "/ui/plan", _buildings(ph_buildings)),
        ("checkpoint", f"/ui/checkpoints/{PH_CP}?first=25/11/2026&last=26/11/2026", _sees(hall)),
        ("audit", "/ui/audit", _sees("Paris Habitat", "Télécharger le PDF")),
        ("signalements", "/ui/signalements", _sees(hall, "Éclairage")),
        ("signalement", f"/ui/signalements/{report_id}", _sees("Éclairage", hall)),
        ("demandes", "/ui/demandes", _sees(REQUEST_TEXT, "Nouvelle demande")),
    ]
    return {"tok-super": staff, "tok-ph": landlord}


def _person_sees_french(driver: WebDriver, who: str, name: str) -> list[str]:
    """The rules every French page keeps; what breaks them, as lines of the failure message."""
    problems: list[str] = []
    where = f"{who} {name}"
    if driver.find_element(By.TAG_NAME, "html").get_attribute("lang") != "fr":
        problems.append(f"{where}: not lang=fr")
    main = driver.find_element(By.TAG_NAME, "main")
    if not main.is_displayed():
        problems.append(f"{where}: no main content shown")
    headings = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "h1, h2") if h.is_displayed()]
    if not any(headings):
        problems.append(f"{where}: no heading")
    text = _main(driver)
    if found := ISO.findall(text):
        problems.append(f"{where}: ISO dates {found[:3]}")
    if found := [b for b in BADGES if b in driver.page_source]:
        problems.append(f"{where}: raw badges {found}")
    if who == "tok-ph" and TEAM_A in text:
        problems.append(f"{where}: a team's name shown to a landlord")
    if found := [x for x in LANDLORD_IDS if re.search(rf"(?<![/=\w-]){x}(?![\w-])", text)]:
        problems.append(f"{where}: landlord ids {found}")
    wide = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    if wide > 1:
        problems.append(f"{where}: {wide} px wider than the window")
    return problems


def _axe(driver: WebDriver, axe: str, where: str) -> list[str]:
    return [f"{where}: axe {v['impact']} {v['id']}: {v['help']}" for v in audit(driver, axe)]


@SIZES
@pytest.mark.parametrize("who", ["tok-super", "tok-ph"], ids=["staff", "landlord"])
def test_every_page_at_desktop_and_phone_widths(
    site: Site, axe: str, shots: Path, who: str, size: tuple[int, int]
) -> None:
    width = "desktop" if size == DESKTOP else "phone"
    role = "staff" if who == "tok-super" else "landlord"
    problems: list[str] = []
    with chromium(size) as driver:
        login(driver, site.url, who)
        for name, path, sees in _pages(site.report_id)[who]:
            driver.get(site.url + path)
            wait_loaded(driver)
            driver.save_screenshot(str(shots / f"{role}-{name}-{width}.png"))
            sees(driver)
            problems += _person_sees_french(driver, role, name)
            problems += _axe(driver, axe, f"{role} {name}")
    assert not problems, "\n".join(problems)


def _visible(driver: WebDriver, css: str) -> None:
    WebDriverWait(driver, 15).until(lambda d: any(e.is_displayed() for e in d.find_elements(By.CSS_SELECTOR, css)))


@SIZES
def test_the_field_app_screens_at_desktop_and_phone_widths(
    site: Site, axe: str, shots: Path, size: tuple[int, int]
) -> None:
    """Enrolled from a supervisor's code, the app's home, technical report and sollicitation screens: the
    team's pseudonym, never its badge; the place proposed by name; French; no serious axe violation."""
    width = "desktop" if size == DESKTOP else "phone"
    made = site.fa.client.post("/api/v1/terrain/enrolments", json={"team": BADGE_A}, headers=auth("tok-super"))
    assert made.status_code == 201, made.text
    problems: list[str] = []
    folder = shots
    with chromium(size) as driver:
        driver.get(site.url + made.json()["enrol_url"])
        _visible(driver, "#enrol-submit")
        driver.save_screenshot(str(folder / f"field-enrolment-{width}.png"))
        problems += _axe(driver, axe, "field enrolment")
        driver.find_element(By.ID, "enrol-submit").click()
        WebDriverWait(driver, 15).until(lambda d: TEAM_A in element_text(d, "team"))
        _visible(driver, "#new-report")
        screens = [("home", None), ("report", "#new-report"), ("sollicitation", "#new-solli")]
        for name, button in screens:
            if button is not None:
                driver.get(site.url + "/terrain/")
                _visible(driver, button)
                driver.find_element(By.CSS_SELECTOR, button).click()
            WebDriverWait(driver, 5).until(lambda d: d.execute_script("return document.readyState") == "complete")
            body = str(driver.find_element(By.TAG_NAME, "body").text)
            driver.save_screenshot(str(folder / f"field-{name}-{width}.png"))
            if driver.find_element(By.TAG_NAME, "html").get_attribute("lang") != "fr":
                problems.append(f"field {name}: not lang=fr")
            if found := [b for b in BADGES if b in driver.page_source]:
                problems.append(f"field {name}: raw badges {found}")
            if found := ISO.findall(body):
                problems.append(f"field {name}: ISO dates {found[:3]}")
            problems += _axe(driver, axe, f"field {name}")
            if name == "home":
                assert TEAM_A in body
            elif name == "report":
                _visible(driver, "#categories button[data-id='eclairage']")
            else:
                _visible(driver, "label[for='origin-locataire']")
    assert not problems, "\n".join(problems)
