"""A private PostgreSQL cluster for tests: Debian's ``initdb``/``pg_ctl`` in a temporary folder, on a free port.

No running server is assumed (a bare clone works on a machine without one): the cluster is created with
``initdb`` (trust authentication, no password), started with ``pg_ctl`` on a free TCP port of 127.0.0.1 with
its unix socket in the same temporary folder, and removed afterwards. ``initdb`` refuses to run as root, so
under root (CI containers) the folder is given to the ``postgres`` user and the binaries run as that user
(``runuser``); any other user runs them directly.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.services import free_port, wait_port


def postgres_bin() -> Path | None:
    """The folder of Debian's PostgreSQL server binaries (newest version), or the one on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass(frozen=True)
class Postgres:
    port: int
    workdir: Path
    user: str

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL (psycopg 3) to ``database`` over TCP."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database; returns its URL."""
        import psycopg  # the server extra; imported here so other tests do not need it

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_owner(cmd: list[str], owner: str | None) -> list[str]:
    return cmd if owner is None else ["runuser", "-u", owner, "--", *cmd]


@contextlib.contextmanager
def run_postgres() -> Iterator[Postgres]:
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL's initdb is not installed (apt-get install postgresql)")
    owner: str | None = None
    if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to the postgres user
        owner = "postgres"
        pwd.getpwnam(owner)  # KeyError: no such user (Debian's package creates it)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="ronde-pg-") as tmp:
        workdir = Path(tmp)
        data = workdir / "data"
        if owner is not None:
            info = pwd.getpwnam(owner)
            os.chown(workdir, info.pw_uid, info.pw_gid)
            os.chmod(workdir, 0o700)
        user = "ronde"
        subprocess.run(
            _as_owner(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    user,
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ],
                owner,
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        subprocess.run(
            _as_owner(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(workdir / "postgres.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                owner,
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_port(port, timeout=30)
            yield Postgres(port, workdir, user)
        finally:
            subprocess.run(
                _as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], owner),
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.1)
