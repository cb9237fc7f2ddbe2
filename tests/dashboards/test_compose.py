"""Static checks of docker-compose.yml, .env.example and the Dockerfile.

No Docker engine runs on this machine, so the stack itself is never started here. What can be
checked without it is: the structure (health checks, restart policies, named volumes, pinned
images), that every variable the file needs is in .env.example, that the ``ingest`` and ``api``
commands parse with the real ``ronde`` command line, and that the mounted files are the ones the
other tests exercise (Mosquitto config, Grafana provisioning).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ronde.cli import build_parser
from ronde.dashboards.render import GRAFANA_DASHBOARDS_DIR, MAIN_FOLDER_UID, provider_yaml

REPO = Path(__file__).parents[2]
COMPOSE_TEXT = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, Any] = COMPOSE["services"]
ENV_EXAMPLE = dict(
    line.split("=", 1) for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("#")
)
_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?]([^}]*))?\}")


def substitute(value: str) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} with .env.example's values."""
    return _VAR.sub(lambda m: ENV_EXAMPLE.get(m[1], m[2] or ""), value)


def test_every_variable_is_documented_in_env_example() -> None:
    for match in _VAR.finditer(COMPOSE_TEXT):
        name, default = match[1], match[2]
        assert name in ENV_EXAMPLE or (default is not None and "set " not in default), f"{name} not in .env.example"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_services_restart_and_check_health(name: str) -> None:
    service = SERVICES[name]
    assert service.get("restart") == "unless-stopped", name
    assert "healthcheck" in service and service["healthcheck"]["test"], f"{name} has no health check"


def test_images_are_pinned() -> None:
    for name, service in SERVICES.items():
        image = substitute(service["image"])
        if "build" in service:
            assert service["build"]["dockerfile"] == "deploy/docker/Dockerfile"
            continue
        assert re.search(r":\d+\.\d+(\.\d+)?$", image), f"{name}: image {image} is not pinned to a version"
    version = tuple(int(x) for x in SERVICES["mosquitto"]["image"].split(":")[1].split("."))
    assert version >= (2, 0, 18), "Mosquitto must be >= 2.0.18 (shared subscriptions of durable sessions)"
    assert SERVICES["influxdb"]["image"].startswith("influxdb:2.")


def test_named_volumes_are_declared_and_used() -> None:
    declared = set(COMPOSE["volumes"])
    used = set()
    for service in SERVICES.values():
        for mount in service.get("volumes", []):
            source = substitute(mount).split(":")[0]
            if not source.startswith((".", "/")):
                used.add(source)
    assert used == declared


def test_mosquitto_uses_the_tested_config() -> None:
    mosquitto = SERVICES["mosquitto"]
    assert "./deploy/mosquitto/mosquitto.conf:/mosquitto/config/mosquitto.conf:ro" in mosquitto["volumes"]
    assert "./deploy/mosquitto/acl:/mosquitto/config/acl:ro" in mosquitto["volumes"]
    assert "./deploy/mosquitto/auth:/mosquitto/auth" in mosquitto["volumes"]
    assert any(v.endswith(":/mosquitto/data") for v in mosquitto["volumes"])
    assert mosquitto["ports"] == ["8883:8883"]  # 1883 stays inside the compose network
    conf = (REPO / "deploy/mosquitto/mosquitto.conf").read_text(encoding="utf-8")
    assert "/mosquitto/certs/fullchain.pem" in conf and "password_file /mosquitto/auth/passwd" in conf
    assert "acl_file /mosquitto/config/acl" in conf


def test_influxdb_is_initialised_from_environment() -> None:
    env = SERVICES["influxdb"]["environment"]
    for key in ("MODE", "USERNAME", "PASSWORD", "ORG", "BUCKET", "ADMIN_TOKEN"):
        assert f"DOCKER_INFLUXDB_INIT_{key}" in env
    # retention has one source, the ingest worker's configuration (maintenance role): none set here
    assert not [k for k in env if "RETENTION" in k]
    assert "--retention" not in (REPO / "deploy/influxdb/init/10-ronde-buckets.sh").read_text(encoding="utf-8")
    assert substitute(env["DOCKER_INFLUXDB_INIT_BUCKET"]) == "ronde/raw"
    assert "./deploy/influxdb/init:/docker-entrypoint-initdb.d:ro" in SERVICES["influxdb"]["volumes"]
    script = (REPO / "deploy/influxdb/init/10-ronde-buckets.sh").read_text(encoding="utf-8")
    assert "influx v1 dbrp create" in script


def test_grafana_mounts_the_provisioning() -> None:
    volumes = SERVICES["grafana"]["volumes"]
    assert "./dashboards/provisioning:/etc/grafana/provisioning:ro" in volumes
    assert f"./dashboards/json/{MAIN_FOLDER_UID}:{GRAFANA_DASHBOARDS_DIR}/{MAIN_FOLDER_UID}:ro" in volumes
    assert f"path: {GRAFANA_DASHBOARDS_DIR}/{MAIN_FOLDER_UID}" in provider_yaml()
    env = SERVICES["grafana"]["environment"]
    assert {"INFLUX_URL", "INFLUX_DATABASE", "INFLUX_TOKEN"} <= set(env)


@pytest.mark.parametrize("name", ["ingest", "ingest-2", "api"])
def test_ronde_commands_parse(name: str) -> None:
    """The commands given to the ronde image are accepted by the real ``ronde`` parser."""
    argv = [substitute(a) for a in SERVICES[name]["command"]]
    args = build_parser(argv).parse_args(argv)
    assert callable(args.func)


def test_ingest_workers_have_distinct_names() -> None:
    names = [a for s in ("ingest", "ingest-2") for a in SERVICES[s]["command"] if a.startswith("--name=")]
    assert len(set(names)) == 2


def test_dockerfile_runs_ronde_unprivileged() -> None:
    text = (REPO / "deploy/docker/Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^USER ronde$", text, re.M)
    assert 'ENTRYPOINT ["/usr/bin/tini", "--", "ronde"]' in text
