"""Push the dashboards to a Grafana server through its HTTP API (grafana-client), idempotently.

What a push ensures, comparing before writing so that a second push writes nothing:

- the data source ``ronde-influxdb`` exists (provisioned from ``dashboards/provisioning``); if not,
  the push stops with a clear message rather than leaving dashboards with broken panels;
- team ``ronde-superviseurs`` and folder "Ronde" (uid ``ronde``) holding the four dashboards,
  viewable by supervisors only: the Supervision dashboard shows pseudonymous team badges, which
  landlords must never see;
- per landlord of the estate file: team ``bailleur-<id>``, folder "Audit — <name>", and in it the
  landlord audit dashboard with that landlord written into every query (no variable to change);
  the folder is viewable by that landlord's team and by supervisors, nobody else (org admins
  always can);
- a dashboard is posted only when its JSON differs from the stored one (or its folder changed);
  folder permissions only when they differ. Dashboards that Grafana loaded from files (the
  provisioning in docker-compose) are left alone: Grafana refuses API saves of those, and they are
  kept current by ``ronde dashboards generate`` instead.

Folder permissions protect dashboards, not the data source: Grafana OSS lets any user who may query
a data source send it any query. docs/dashboards.md says how to keep landlords off raw data.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from ronde.dashboards.boards import all_dashboards, landlord_copies
from ronde.dashboards.model import DATASOURCE_UID, UID_MAX_LEN, Dashboard, JsonObject
from ronde.dashboards.render import MAIN_FOLDER_TITLE, MAIN_FOLDER_UID
from ronde.protocol.estate import Registry

log = logging.getLogger(__name__)

SUPERVISORS_TEAM = "ronde-superviseurs"
VIEW = 1  # Grafana permission levels: 1 View, 2 Edit, 4 Admin
PUSH_MESSAGE = "ronde dashboards push"
_VOLATILE_KEYS = ("id", "version")


class PushError(RuntimeError):
    """The target Grafana is not ready for the push (missing data source, refused request...)."""


@dataclass
class PushReport:
    teams_created: list[str] = field(default_factory=list)
    folders_created: list[str] = field(default_factory=list)
    permissions_set: list[str] = field(default_factory=list)
    dashboards_written: list[str] = field(default_factory=list)
    dashboards_unchanged: list[str] = field(default_factory=list)
    dashboards_provisioned: list[str] = field(default_factory=list)  # file-provisioned: Grafana refuses API saves

    @property
    def changed(self) -> bool:
        return bool(self.teams_created or self.folders_created or self.permissions_set or self.dashboards_written)

    def summary(self) -> str:
        return (
            f"teams created: {len(self.teams_created)}, folders created: {len(self.folders_created)}, "
            f"folder permissions set: {len(self.permissions_set)}, dashboards written: "
            f"{len(self.dashboards_written)}, unchanged: {len(self.dashboards_unchanged)}, "
            f"file-provisioned (left alone): {len(self.dashboards_provisioned)}"
        )


def landlord_team(landlord_id: str) -> str:
    return f"bailleur-{landlord_id}"


def landlord_folder_uid(landlord_id: str) -> str:
    uid = f"ronde-{landlord_id}"
    if len(uid) <= UID_MAX_LEN:
        return uid
    return f"{uid[:31]}-{hashlib.sha256(landlord_id.encode()).hexdigest()[:8]}"


def connect(url: str, token: str, timeout: float = 10.0) -> Any:
    """A ``grafana_client.GrafanaApi`` for ``url`` with a service-account token (Bearer)."""
    from grafana_client.api import GrafanaApi

    return GrafanaApi.from_url(url, credential=token, timeout=timeout)


def push(api: Any, registry: Registry, *, dry_run: bool = False) -> PushReport:
    """Bring Grafana in line with the generated dashboards; see the module docstring."""
    report = PushReport()
    _require_datasource(api)
    supervisors = _ensure_team(api, SUPERVISORS_TEAM, report, dry_run)
    _ensure_folder(api, MAIN_FOLDER_UID, MAIN_FOLDER_TITLE, report, dry_run)
    _ensure_permissions(api, MAIN_FOLDER_UID, [supervisors], report, dry_run)
    for dashboard in all_dashboards(registry):
        _ensure_dashboard(api, dashboard, MAIN_FOLDER_UID, report, dry_run)
    for landlord_id, dashboard in landlord_copies(registry):
        landlord = registry.landlords[landlord_id]
        team = _ensure_team(api, landlord_team(landlord_id), report, dry_run)
        folder = landlord_folder_uid(landlord_id)
        _ensure_folder(api, folder, f"Audit — {landlord.name}", report, dry_run)
        _ensure_permissions(api, folder, [team, supervisors], report, dry_run)
        _ensure_dashboard(api, dashboard, folder, report, dry_run)
    return report


# ---- steps ----------------------------------------------------------------------------------------------


def _require_datasource(api: Any) -> None:
    try:
        api.datasource.get_datasource_by_uid(DATASOURCE_UID)
    except Exception as exc:
        if _status(exc) == HTTPStatus.NOT_FOUND:
            raise PushError(
                f"Grafana has no data source with uid {DATASOURCE_UID!r}: provision "
                "dashboards/provisioning/datasources/ronde-influxdb.yaml first (docs/deploy.md)"
            ) from None
        raise PushError(f"cannot read data sources: {exc}") from exc


def _ensure_team(api: Any, name: str, report: PushReport, dry_run: bool) -> int | None:
    for team in api.teams.get_team_by_name(name):
        if team.get("name") == name:
            return int(team["id"])
    report.teams_created.append(name)
    if dry_run:
        return None
    created = api.teams.add_team({"name": name})
    log.info("created team %s", name)
    return int(created["teamId"])


def _ensure_folder(api: Any, uid: str, title: str, report: PushReport, dry_run: bool) -> None:
    try:
        folder = api.folder.get_folder(uid)
    except Exception as exc:
        if _status(exc) != HTTPStatus.NOT_FOUND:
            raise
        report.folders_created.append(uid)
        if not dry_run:
            api.folder.create_folder(title, uid=uid)
            log.info("created folder %s (%s)", uid, title)
        return
    if folder.get("title") != title:
        report.folders_created.append(uid)
        if not dry_run:
            api.folder.update_folder(uid, title=title, overwrite=True)


def _ensure_permissions(
    api: Any, folder_uid: str, team_ids: Iterable[int | None], report: PushReport, dry_run: bool
) -> None:
    """View for these teams only: replaces the default Viewer/Editor role grants of a new folder."""
    ids = list(team_ids)
    wanted = sorted({t for t in ids if t is not None})
    if None not in ids and folder_uid not in report.folders_created:
        current = _normalise(api.folder.get_folder_permissions(folder_uid))
        if current == {("team", t, VIEW) for t in wanted}:
            return
    report.permissions_set.append(folder_uid)
    if not dry_run:
        api.folder.update_folder_permissions(folder_uid, {"items": [{"teamId": t, "permission": VIEW} for t in wanted]})
        log.info("set permissions of folder %s: teams %s view", folder_uid, wanted)


def _ensure_dashboard(api: Any, dashboard: Dashboard, folder_uid: str, report: PushReport, dry_run: bool) -> None:
    body = dashboard.to_json()
    try:
        stored = api.dashboard.get_dashboard(dashboard.uid)
    except Exception as exc:
        if _status(exc) != HTTPStatus.NOT_FOUND:
            raise
        stored = None
    if stored is not None and (stored.get("meta") or {}).get("provisioned"):
        # provisioned from dashboards/json by the file provider: regenerate the files instead
        report.dashboards_provisioned.append(dashboard.uid)
        return
    if stored is not None and _same(stored, body, folder_uid):
        report.dashboards_unchanged.append(dashboard.uid)
        return
    report.dashboards_written.append(dashboard.uid)
    if not dry_run:
        api.dashboard.update_dashboard(
            {"dashboard": {**body, "id": None}, "folderUid": folder_uid, "overwrite": True, "message": PUSH_MESSAGE}
        )
        log.info("wrote dashboard %s in folder %s", dashboard.uid, folder_uid)


def _same(stored: JsonObject, body: JsonObject, folder_uid: str) -> bool:
    meta = stored.get("meta") or {}
    current = {k: v for k, v in (stored.get("dashboard") or {}).items() if k not in _VOLATILE_KEYS}
    return bool(meta.get("folderUid") == folder_uid and current == body)


def _normalise(permissions: Any) -> set[tuple[str, object, int]]:
    items = permissions.get("items", []) if isinstance(permissions, dict) else permissions
    out: set[tuple[str, object, int]] = set()
    for item in items or []:
        if item.get("inherited"):
            continue
        if item.get("teamId"):
            out.add(("team", int(item["teamId"]), int(item["permission"])))
        elif item.get("userId"):
            out.add(("user", int(item["userId"]), int(item["permission"])))
        elif item.get("role") and item["role"] != "Admin":
            out.add(("role", item["role"], int(item["permission"])))
    return out


def _status(exc: BaseException) -> int | None:
    code = getattr(exc, "status_code", None)
    return code if isinstance(code, int) else None
