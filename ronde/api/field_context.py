"""What the field routes (issue 14) need besides the API's context: the operational database, the media store
and the field settings; and who may call them (``device``, ``partner`` and the existing roles).

The field routes run only on the operational database (``create_app_on_database``): the records have a life
cycle and live there. ``FieldConfig`` is validated once, when the app is built.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ronde.api.auth import Principal, Role
from ronde.api.deps import Ctx, Unauthorized, caller
from ronde.api.field_media import FsMediaStore, MediaStore
from ronde.api.scope import Forbidden, Scope
from ronde.opdb.engine import session_factory
from ronde.opdb.field_repo import photo_in_use
from ronde.opdb.field_retention import DEFAULT_FIELD_RETENTION, FieldRetention, PurgeResult, purge_field
from ronde.settings.field_section import FieldSection

MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTO_PX = 2048
SUGGESTION_WINDOW = timedelta(minutes=10)
PURGE_INTERVAL = timedelta(hours=1)
log = logging.getLogger(__name__)
PHOTO_BYTES_RANGE = (1024, 64 * 1024 * 1024)
PHOTO_PX_RANGE = (64, 8192)


@dataclass(frozen=True, slots=True)
class FieldConfig:
    """``media_dir`` None: a folder beside a SQLite database (``<db>.media``), else a temporary data folder."""

    media_dir: Path | None = None
    max_photo_bytes: int = MAX_PHOTO_BYTES
    max_photo_px: int = MAX_PHOTO_PX
    suggestion_window: timedelta = SUGGESTION_WINDOW
    retention: FieldRetention = field(default=DEFAULT_FIELD_RETENTION)

    def __post_init__(self) -> None:
        if not PHOTO_BYTES_RANGE[0] <= self.max_photo_bytes <= PHOTO_BYTES_RANGE[1]:
            raise ValueError(f"field max_photo_bytes: {self.max_photo_bytes} is not in 1 KiB..64 MiB")
        if not PHOTO_PX_RANGE[0] <= self.max_photo_px <= PHOTO_PX_RANGE[1]:
            raise ValueError(f"field max_photo_px: {self.max_photo_px} is not in 64..8192")
        if self.media_dir is not None and not self.media_dir.parent.is_dir():
            raise ValueError(f"field media_dir: directory {self.media_dir.parent} does not exist")


def default_media_dir(engine: Engine) -> Path:
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if database and database != ":memory:":
        return Path(database).with_name(Path(database).name + ".media")
    return Path(tempfile.gettempdir()) / "ronde-media"


class Purger:
    """Runs the field purge at most once per ``PURGE_INTERVAL``, on the requests themselves (no thread, like the
    tokens file watcher): every API process applies the retention without a scheduler to deploy. Deletes are
    idempotent, so two processes purging at once do no harm."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: datetime | None = None

    def due(self, now: datetime) -> bool:
        with self._lock:
            if self._last is not None and now - self._last < PURGE_INTERVAL and now >= self._last:
                return False
            self._last = now
            return True


@dataclass(frozen=True, slots=True)
class FieldServices:
    engine: Engine
    media: MediaStore
    config: FieldConfig
    sessions: sessionmaker[Session]
    purger: Purger = field(default_factory=Purger)

    @classmethod
    def build(cls, engine: Engine, config: FieldConfig, media: MediaStore | None = None) -> FieldServices:
        if media is None:
            root = config.media_dir or default_media_dir(engine)
            if config.media_dir is None and engine.url.get_backend_name() != "sqlite":
                log.warning("field photos go to %s, a temporary folder: set [field] media_dir", root)
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            media = FsMediaStore(root)
        return cls(engine, media, config, session_factory(engine))

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self.sessions.begin() as s:
            yield s

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.sessions() as s:
            yield s

    def purge(self, now: datetime) -> PurgeResult:
        """Apply the retention now: rows first, then the photo files no record uses any more."""
        with self.write() as s:
            result = purge_field(s, self.config.retention, now)
        for digest in result.orphan_photos:
            with self.read() as s:
                if photo_in_use(s, digest):  # the same image attached again meanwhile
                    continue
            self.media.delete(digest)
        if result.records or result.contacts or result.requests:
            log.info(
                "field retention: %d records, %d contacts, %d requests, %d photos deleted",
                result.records,
                result.contacts,
                result.requests,
                len(result.orphan_photos),
            )
        return result


def get_field(request: Request) -> FieldServices:
    services: FieldServices | None = getattr(request.app.state, "field", None)
    if services is None:
        raise Forbidden("field records need the operational database (ronde api serve --database)")
    now = request.app.state.ronde.now()
    if services.purger.due(now):
        services.purge(now)
    return services


Field = Annotated[FieldServices, Depends(get_field)]


def field_principal(request: Request, ctx: Ctx) -> Principal:
    """Any role but gateway; a landlord token's landlord must be in the registry (as ``get_principal``)."""
    principal = caller(request, ctx)
    if principal is None:
        raise Unauthorized("missing, unknown or revoked bearer token")
    if principal.role is Role.GATEWAY:
        raise Forbidden("gateway tokens may only publish over MQTT: no read access to the API")
    if principal.role is Role.LANDLORD and principal.landlord not in ctx.registry.registry.landlords:
        raise Forbidden(f"landlord {principal.landlord!r} of this token is not in the registry")
    request.state.principal = principal
    return principal


def field_scope(ctx: Ctx, principal: Annotated[Principal, Depends(field_principal)]) -> Scope:
    return Scope(principal, ctx.registry.registry)


FieldScope = Annotated[Scope, Depends(field_scope)]


def require_device(scope: FieldScope) -> Scope:
    scope.require(Role.DEVICE)
    return scope


def require_staff(scope: FieldScope) -> Scope:
    scope.require(Role.ADMIN, Role.SUPERVISOR)
    return scope


def require_queue_reader(scope: FieldScope) -> Scope:
    scope.require(Role.ADMIN, Role.SUPERVISOR, Role.LANDLORD)
    return scope


def require_requester(scope: FieldScope) -> Scope:
    scope.require(Role.ADMIN, Role.SUPERVISOR, Role.LANDLORD, Role.PARTNER)
    return scope


DeviceScope = Annotated[Scope, Depends(require_device)]
FieldStaff = Annotated[Scope, Depends(require_staff)]
QueueScope = Annotated[Scope, Depends(require_queue_reader)]
RequesterScope = Annotated[Scope, Depends(require_requester)]


def field_config(section: FieldSection) -> FieldConfig:
    """The ``[field]`` settings section as the API's ``FieldConfig`` (``ronde api serve`` passes it on)."""
    return FieldConfig(
        media_dir=section.media_dir,
        max_photo_bytes=section.max_photo_bytes,
        max_photo_px=section.max_photo_px,
        retention=section.retention(),
    )
