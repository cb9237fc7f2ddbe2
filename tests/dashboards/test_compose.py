"""Static checks of docker-compose.yml, .env.example and the Dockerfile.

No Docker engine runs on this machine, so the stack itself is never started here: these are
parse-level checks of the files, not a run. What can be checked without Docker is: the structure
(health checks, restart policies, named volumes, pinned images, the order services wait for each
other in), that every variable the file needs is in .env.example, that the ``ingest``, ``api`` and
``ronde-init`` commands parse with the real ``ronde`` command line, and that the mounted files are the
ones the other tests exercise (Mosquitto config, Grafana provisioning). Whether PostgreSQL 16's image
answers ``pg_isready`` and the one-shot's shell line runs are not checked here (docs/deploy.md).
"""

from __future__ import annotations

import re
import shlex
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
    line.split("=", 1)
    for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines()
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


ONE_SHOTS = {"ronde-init"}  # run once per `up` and exit; the others wait for them to succeed


@pytest.mark.parametrize("name", sorted(set(SERVICES) - ONE_SHOTS))
def test_services_restart_and_check_health(name: str) -> None:
    service = SERVICES[name]
    assert service.get("restart") == "unless-stopped", name
    assert "healthcheck" in service, f"{name} has no health check"
    assert service["healthcheck"]["test"], f"{name} has no health check"


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
    assert "/mosquitto/certs/fullchain.pem" in conf
    assert "password_file /mosquitto/auth/passwd" in conf
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


# ---- the operational database (issue 13): parse-level only, Docker cannot run here ----------------------------


def test_postgresql_service_with_volume_and_health_check() -> None:
    pg = SERVICES["postgres"]
    assert re.fullmatch(r"postgres:16\.\d+", pg["image"]), pg["image"]
    assert pg["restart"] == "unless-stopped"
    assert any(substitute(v).split(":")[0] == "postgres-data" for v in pg["volumes"])
    assert "postgres-data:/var/lib/postgresql/data" in pg["volumes"]
    test = pg["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    assert "pg_isready" in test[1]
    assert "-U ronde" in test[1]
    assert "-d ronde" in test[1]
    env = pg["environment"]
    assert env["POSTGRES_USER"] == "ronde"
    assert env["POSTGRES_DB"] == "ronde"
    assert env["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")  # from .env, never a default
    assert "POSTGRES_PASSWORD" in ENV_EXAMPLE
    assert "RONDE_OPDB_SECRET_KEY" in ENV_EXAMPLE
    assert "ports" not in pg  # only inside the compose network


def test_migration_one_shot_runs_before_the_roles() -> None:
    init = SERVICES["ronde-init"]
    assert init["restart"] == "no"
    assert init["image"] == SERVICES["api"]["image"]
    assert init["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert init["entrypoint"][-2:] == ["/bin/sh", "-c"]
    [line] = init["command"]
    steps = [shlex.split(step) for step in line.split("&&")]
    assert [step[:3] for step in steps] == [["ronde", "db", "upgrade"], ["ronde", "registry", "import"]]
    for step in steps:  # each step parses with the real ronde command line
        args = build_parser(step[1:]).parse_args(step[1:])
        assert callable(args.func)
    imported = build_parser(steps[1][1:]).parse_args(steps[1][1:])
    assert imported.if_empty  # a later start never undoes changes made through the API
    assert str(imported.estate) == "/etc/ronde/estate.yaml"
    assert str(imported.gateways) == "/etc/ronde/gateways.yaml"
    assert any(v.endswith(":/etc/ronde:ro") for v in init["volumes"])  # the mounted config dir


@pytest.mark.parametrize("name", ["ingest", "ingest-2", "api"])
def test_roles_wait_for_postgresql_and_the_migration(name: str) -> None:
    service = SERVICES[name]
    assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert service["depends_on"]["ronde-init"] == {"condition": "service_completed_successfully"}


@pytest.mark.parametrize("name", ["ingest", "ingest-2", "api", "ronde-init"])
def test_roles_get_the_database_url_and_one_store_token_name(name: str) -> None:
    env = SERVICES[name]["environment"]
    assert env["RONDE_DATABASE_URL"] == "postgresql://ronde@postgres:5432/ronde"  # no password in the URL
    assert env["RONDE_DATABASE_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert env["RONDE_STORE_TOKEN"].startswith("${INFLUX_ADMIN_TOKEN:?")
    assert "RONDE_INFLUX_TOKEN" not in env  # the deprecated name


def test_api_serves_from_the_database_not_the_yaml_files() -> None:
    argv = [substitute(a) for a in SERVICES["api"]["command"]]
    assert "--database=postgresql://ronde@postgres:5432/ronde" in argv
    assert not [a for a in argv if a.split("=")[0] in ("--tokens", "--estate", "--gateways", "--badges")]
    for name in ("ingest", "ingest-2"):  # the workers read the registry from RONDE_DATABASE_URL too
        assert not [a for a in SERVICES[name]["command"] if a.split("=")[0] in ("--estate", "--gateways")]


def test_ingest_workers_have_distinct_names() -> None:
    names = [a for s in ("ingest", "ingest-2") for a in SERVICES[s]["command"] if a.startswith("--name=")]
    assert len(set(names)) == 2


def test_dockerfile_runs_ronde_unprivileged() -> None:
    text = (REPO / "deploy/docker/Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^USER ronde$", text, re.M)
    assert 'ENTRYPOINT ["/usr/bin/tini", "--", "ronde"]' in text
