"""A stand-in for the parts of Grafana's HTTP API that ``ronde dashboards push`` uses.

No Grafana server can run on this machine, so the push is tested against this in-memory
imitation, which records every request. It follows Grafana's documented answers (folders, teams,
legacy folder permissions, dashboards by uid, data source by uid), including a new folder's
default permissions (Viewer: View, Editor: Edit) and dashboards stored with ``id``/``version``.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    authorization: str | None


@dataclass
class GrafanaState:
    datasources: set[str] = field(default_factory=lambda: {"ronde-influxdb"})
    teams: dict[int, str] = field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    permissions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    next_id: int = 1

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


class _Handler(BaseHTTPRequestHandler):
    state: GrafanaState
    lock = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        url = urlparse(self.path)
        with self.lock:
            self.state.requests.append(Recorded(method, url.path, body, self.headers.get("Authorization")))
            status, answer = self._route(method, url.path, parse_qs(url.query), body)
        self._reply(status, answer)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        s = self.state
        parts = path.strip("/").split("/")
        if self.headers.get("Authorization") != "Bearer test-token":
            return 401, {"message": "Unauthorized"}
        if parts[:3] == ["api", "datasources", "uid"] and method == "GET":
            uid = parts[3]
            return (200, {"uid": uid, "type": "influxdb"}) if uid in s.datasources else (404, {"message": "not found"})
        if parts[:3] == ["api", "teams", "search"]:
            name = query.get("name", [None])[0]
            teams = [{"id": i, "name": n} for i, n in s.teams.items() if name is None or n == name]
            return 200, {"totalCount": len(teams), "teams": teams, "page": 1, "perPage": 1000}
        if parts == ["api", "teams"] and method == "POST":
            if body["name"] in s.teams.values():
                return 409, {"message": "Team name taken"}
            team_id = s.new_id()
            s.teams[team_id] = body["name"]
            return 200, {"message": "Team created", "teamId": team_id}
        if parts == ["api", "folders"] and method == "POST":
            uid = body["uid"]
            if uid in s.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            s.folders[uid] = {"id": s.new_id(), "uid": uid, "title": body["title"], "version": 1}
            s.permissions[uid] = [{"role": "Viewer", "permission": 1}, {"role": "Editor", "permission": 2}]
            return 200, s.folders[uid]
        if parts[:2] == ["api", "folders"] and len(parts) == 3:
            uid = parts[2]
            if uid not in s.folders:
                return 404, {"message": "folder not found", "status": "not-found"}
            if method == "PUT":
                s.folders[uid]["title"] = body["title"]
                s.folders[uid]["version"] += 1
            return 200, s.folders[uid]
        if parts[:2] == ["api", "folders"] and len(parts) == 4 and parts[3] == "permissions":
            uid = parts[2]
            if uid not in s.folders:
                return 404, {"message": "folder not found"}
            if method == "POST":
                s.permissions[uid] = [dict(item) for item in body["items"]]
                return 200, {"message": "Folder permissions updated"}
            items = [{"folderUid": uid, "inherited": False, **item} for item in s.permissions[uid]]
            return 200, items
        if parts[:3] == ["api", "dashboards", "uid"] and method == "GET":
            stored = s.dashboards.get(parts[3])
            if stored is None:
                return 404, {"message": "Dashboard not found"}
            meta = {"folderUid": stored["folderUid"], "slug": "x", "provisioned": stored.get("provisioned", False)}
            return 200, {"dashboard": stored["dashboard"], "meta": meta}
        if parts == ["api", "dashboards", "db"] and method == "POST":
            dash = dict(body["dashboard"])
            folder = body.get("folderUid")
            if folder not in s.folders:
                return 400, {"message": "folder not found"}
            previous = s.dashboards.get(dash["uid"])
            if previous and previous.get("provisioned"):
                return 400, {"message": "Cannot save provisioned dashboard"}
            dash["id"] = previous["dashboard"]["id"] if previous else s.new_id()
            dash["version"] = previous["dashboard"]["version"] + 1 if previous else 1
            s.dashboards[dash["uid"]] = {"dashboard": dash, "folderUid": folder}
            return 200, {"id": dash["id"], "uid": dash["uid"], "status": "success", "version": dash["version"]}
        return 404, {"message": f"stand-in has no route for {method} {path}"}


@contextlib.contextmanager
def run_grafana_standin(state: GrafanaState | None = None) -> Iterator[tuple[str, GrafanaState]]:
    state = state or GrafanaState()
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="grafana-standin", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
