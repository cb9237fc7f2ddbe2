"""Registry: landlords, estates, buildings, checkpoints, beacons, gateways, team badges, estate file."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from starlette.exceptions import HTTPException

from ronde.api.auth import RevocableTokens
from ronde.api.deps import AdminScope, Ctx, ScopeDep, StaffScope, get_ctx
from ronde.api.models import (
    ERROR_RESPONSES,
    BadgeIn,
    BadgeOut,
    BadgeStr,
    BeaconOut,
    BeaconRow,
    BuildingIn,
    BuildingOut,
    CheckpointIn,
    CheckpointOut,
    ErrorBody,
    EstateErrorBody,
    EstateImportOut,
    EstateIn,
    EstateOut,
    GatewayIdStr,
    GatewayIn,
    GatewayOut,
    IdStr,
    LandlordIn,
    LandlordOut,
    ValidationErrorBody,
)
from ronde.api.paging import PAGED, Page, paging
from ronde.api.registry_service import BadgeEntry, RegistryChangeError, registry_to_yaml
from ronde.api.scope import NotFound, Scope
from ronde.protocol.estate import (
    KIND_LABELS_EN,
    KIND_LABELS_FR,
    Checkpoint,
    EstateError,
    EstateFileError,
    Registry,
    registry_from_document,
)
from ronde.protocol.gateways import RESERVED_GATEWAY_IDS, gateway_entry

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
ESTATE_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorBody, "description": "estate file larger than max_import_body_bytes (2 MiB by default)"},
    422: {
        "model": EstateErrorBody | ValidationErrorBody,
        "description": "invalid request, or an estate file/change that breaks the registry's rules (errors name the "
        "field and line)",
    },
}
ESTATE_DOC = "an estate file (format: ronde-estate, version: 1), see docs/protocol.md"
YAML_REQUEST: dict[str, Any] = {
    "requestBody": {
        "content": {"application/yaml": {"schema": {"type": "object", "description": ESTATE_DOC}}},
        "required": True,
    }
}
Lang = Annotated[Literal["fr", "en"], Query(description="language of labels")]
# A page of each list (see ronde.api.paging): ~0.6 KB per checkpoint, ~0.4 KB per beacon row, ~0.25 KB per
# building, so a default page stays under 0.6 MB at city scale; landlords, estates and teams are far fewer.
SmallPage = Annotated[Page, paging(500, 5_000)]
BigPage = Annotated[Page, paging(1_000, 10_000)]


def beacon_out(c: Checkpoint, enrolled: bool | None = None) -> BeaconOut:
    """``enrolled``: whether an EID identity key is held (the database's read models carry no key)."""
    b = c.beacon
    return BeaconOut(
        format=b.format,
        key=b.key,
        identifiers=dict(b.fields),
        tx_power=b.tx_power,
        interval_ms=b.interval_ms,
        has_identity_key=b.identity_key is not None if enrolled is None else enrolled,
        rotation_exponent=b.rotation_exponent,
        clock_epoch=b.clock_epoch,
    )


def checkpoint_out(c: Checkpoint, lang: str = "fr", enrolled: bool | None = None) -> CheckpointOut:
    labels = KIND_LABELS_EN if lang == "en" else KIND_LABELS_FR
    return CheckpointOut(
        id=c.id,
        name=c.name,
        kind=c.kind,
        kind_label=labels[c.kind],
        estate=c.estate,
        landlord=c.landlord,
        building=c.building,
        lat=c.lat,
        lon=c.lon,
        level=c.level,
        expected_visits=c.expected_visits,
        radius_m=c.radius_m,
        beacon=beacon_out(c, enrolled),
    )


def _landlord_out(registry: Registry, landlord_id: str) -> LandlordOut:
    x = registry.landlords[landlord_id]
    total = registry.total_dwellings
    return LandlordOut(
        id=x.id,
        name=x.name,
        dwellings=x.dwellings,
        dwelling_share=x.dwellings / total if total else 0.0,
        buildings=sum(1 for b in registry.buildings.values() if b.landlord == x.id),
        checkpoints=sum(1 for c in registry.checkpoints.values() if c.landlord == x.id),
    )


# ---- landlords ---------------------------------------------------------------------------------


@router.get(
    "/landlords", tags=["registry"], summary="Landlords (bailleurs) with their dwelling counts", responses=PAGED
)
def list_landlords(scope: ScopeDep, page: SmallPage) -> list[LandlordOut]:
    return [_landlord_out(scope.registry, x.id) for x in page.of(scope.landlords())]


@router.get("/landlords/{landlord_id}", tags=["registry"], summary="One landlord")
def get_landlord(landlord_id: str, scope: ScopeDep) -> LandlordOut:
    return _landlord_out(scope.registry, scope.landlord_of(landlord_id).id)


@router.put(
    "/landlords/{landlord_id}",
    tags=["registry"],
    summary="Create or replace a landlord (admin)",
    responses=ESTATE_ERRORS,
)
def put_landlord(landlord_id: IdStr, body: LandlordIn, scope: AdminScope, ctx: Ctx) -> LandlordOut:
    registry = ctx.registry.put("landlords", landlord_id, body.model_dump(), author=scope.principal.name)
    if landlord_id not in registry.landlords:  # removed meanwhile by another API process on the database
        raise NotFound("landlord", landlord_id)
    return _landlord_out(registry, landlord_id)


# ---- estates and buildings ---------------------------------------------------------------------


def _estate_out(scope: Scope, estate_id: str) -> EstateOut:
    e = scope.estate_of(estate_id)
    return EstateOut(id=e.id, name=e.name, city=e.city, checkpoints=len(scope.checkpoints(estate=e.id)))


@router.get(
    "/estates", tags=["registry"], summary="Estates (quartiers) holding the caller's patrimony", responses=PAGED
)
def list_estates(scope: ScopeDep, page: SmallPage) -> list[EstateOut]:
    return [_estate_out(scope, e.id) for e in page.of(scope.estates())]


@router.get("/estates/{estate_id}", tags=["registry"], summary="One estate")
def get_estate(estate_id: str, scope: ScopeDep) -> EstateOut:
    return _estate_out(scope, estate_id)


@router.put(
    "/estates/{estate_id}", tags=["registry"], summary="Create or replace an estate (admin)", responses=ESTATE_ERRORS
)
def put_estate(estate_id: IdStr, body: EstateIn, scope: AdminScope, ctx: Ctx) -> EstateOut:
    registry = ctx.registry.put("estates", estate_id, body.model_dump(), author=scope.principal.name)
    return _estate_out(Scope(scope.principal, registry), estate_id)


def _building_out(scope: Scope, building_id: str) -> BuildingOut:
    b = scope.building_of(building_id)
    return BuildingOut(
        id=b.id,
        name=b.name,
        estate=b.estate,
        landlord=b.landlord,
        dwellings=b.dwellings,
        checkpoints=sum(1 for c in scope.registry.checkpoints.values() if c.building == b.id),
        footprint=[[lat, lon] for lat, lon in b.footprint],
    )


@router.get("/buildings", tags=["registry"], summary="Buildings of the caller's patrimony", responses=PAGED)
def list_buildings(scope: ScopeDep, page: BigPage, estate: Annotated[str | None, Query()] = None) -> list[BuildingOut]:
    return [_building_out(scope, b.id) for b in page.of(scope.buildings(estate=estate))]


@router.get("/buildings/{building_id}", tags=["registry"], summary="One building")
def get_building(building_id: str, scope: ScopeDep) -> BuildingOut:
    return _building_out(scope, building_id)


@router.put(
    "/buildings/{building_id}",
    tags=["registry"],
    summary="Create or replace a building (admin)",
    responses=ESTATE_ERRORS,
)
def put_building(building_id: IdStr, body: BuildingIn, scope: AdminScope, ctx: Ctx) -> BuildingOut:
    data = body.model_dump()
    if data["footprint"] is None:  # omitted: keep the outline drawn on the plan (a rename must not erase it)
        was = ctx.registry.registry.buildings.get(building_id)
        data["footprint"] = [list(p) for p in was.footprint] if was is not None and was.footprint else None
    if data["footprint"] is None:
        del data["footprint"]
    registry = ctx.registry.put("buildings", building_id, data, author=scope.principal.name)
    return _building_out(Scope(scope.principal, registry), building_id)


# ---- checkpoints and beacons -------------------------------------------------------------------


@router.get(
    "/checkpoints", tags=["registry"], summary="Checkpoints (halls, parkings, espaces verts...)", responses=PAGED
)
def list_checkpoints(
    scope: ScopeDep,
    ctx: Ctx,
    page: BigPage,
    lang: Lang = "fr",
    landlord: Annotated[str | None, Query()] = None,
    estate: Annotated[str | None, Query()] = None,
    building: Annotated[str | None, Query()] = None,
) -> list[CheckpointOut]:
    return [
        checkpoint_out(c, lang, ctx.registry.has_identity_key(c.id))
        for c in page.of(scope.checkpoints(landlord=landlord, estate=estate, building=building))
    ]


@router.get("/checkpoints/{checkpoint_id}", tags=["registry"], summary="One checkpoint with its beacon")
def get_checkpoint(checkpoint_id: str, scope: ScopeDep, ctx: Ctx, lang: Lang = "fr") -> CheckpointOut:
    c = scope.checkpoint_of(checkpoint_id)
    return checkpoint_out(c, lang, ctx.registry.has_identity_key(c.id))


@router.put(
    "/checkpoints/{checkpoint_id}",
    tags=["registry"],
    responses=ESTATE_ERRORS,
    summary="Create or replace a checkpoint and its beacon (admin; EID identity key write-only)",
)
def put_checkpoint(checkpoint_id: IdStr, body: CheckpointIn, scope: AdminScope, ctx: Ctx) -> CheckpointOut:
    item = body.model_dump(mode="json", exclude_none=True)
    if item["beacon"].get("format") == "eddystone_eid":
        item["beacon"] = {k: v for k, v in item["beacon"].items() if v is not None}
    registry = ctx.registry.put("checkpoints", checkpoint_id, item, author=scope.principal.name)
    changed = registry.checkpoints.get(checkpoint_id)
    if changed is None:  # removed meanwhile by another API process on the database
        raise NotFound("checkpoint", checkpoint_id)
    return checkpoint_out(changed, enrolled=ctx.registry.has_identity_key(checkpoint_id))


@router.delete(
    "/checkpoints/{checkpoint_id}",
    tags=["registry"],
    status_code=204,
    summary="Remove a checkpoint (admin); its stored visits are kept",
    responses=ESTATE_ERRORS,
)
def delete_checkpoint(checkpoint_id: str, scope: AdminScope, ctx: Ctx) -> Response:
    scope.checkpoint_of(checkpoint_id)
    ctx.registry.delete("checkpoints", checkpoint_id, author=scope.principal.name)
    return Response(status_code=204)


@router.get(
    "/beacons",
    tags=["registry"],
    summary="Beacons of the caller's checkpoints, with latest telemetry",
    responses=PAGED,
)
def list_beacons(scope: ScopeDep, ctx: Ctx, page: BigPage) -> list[BeaconRow]:
    telemetry = ctx.store.latest_telemetry()
    out: list[BeaconRow] = []
    for c in page.of(scope.checkpoints()):
        t = telemetry.get(c.id)
        out.append(
            BeaconRow(
                checkpoint_id=c.id,
                landlord=c.landlord,
                beacon=beacon_out(c, ctx.registry.has_identity_key(c.id)),
                battery_mv=t.battery_mv if t else None,
                temperature_c=t.temperature_c if t else None,
                telemetry_at=t.at if t else None,
            )
        )
    return out


# ---- gateways and badges (staff only: they relate to teams) ------------------------------------


def _gateway_rows(ctx: Ctx) -> list[GatewayOut]:
    states = ctx.store.latest_gateway_states()
    enrolled = ctx.registry.gateways.entries
    out: list[GatewayOut] = []
    for gid in sorted(set(enrolled) | set(states)):
        e, s = enrolled.get(gid), states.get(gid)
        out.append(
            GatewayOut(
                gateway_id=gid,
                public_key=e.public_key_text if e else None,
                enrolled=e is not None,
                badges=sorted(e.badges) if e is not None and e.badges is not None else None,
                allow_unsigned=e.allow_unsigned if e is not None else None,
                online=s.online if s else None,
                scanning=s.scanning if s else None,
                state_at=s.at if s else None,
            )
        )
    return out


@router.get(
    "/gateways", tags=["registry"], summary="Gateways (team scanners) with public keys and state", responses=PAGED
)
def list_gateways(scope: StaffScope, ctx: Ctx, page: SmallPage) -> list[GatewayOut]:
    return page.of(_gateway_rows(ctx))


@router.get("/gateways/{gateway_id}", tags=["registry"], summary="One gateway")
def get_gateway(gateway_id: str, scope: StaffScope, ctx: Ctx) -> GatewayOut:
    for g in _gateway_rows(ctx):
        if g.gateway_id == gateway_id:
            return g
    raise NotFound("gateway", gateway_id)


@router.put(
    "/gateways/{gateway_id}",
    tags=["registry"],
    summary="Enrol a gateway's Ed25519 public key (admin)",
    responses=ESTATE_ERRORS,
)
def put_gateway(gateway_id: GatewayIdStr, body: GatewayIn, scope: AdminScope, ctx: Ctx) -> GatewayOut:
    current = ctx.registry.gateways.get(gateway_id)
    badges = frozenset(body.badges) if body.badges is not None else (current.badges if current else None)
    allow_unsigned = bool(current and current.allow_unsigned) if body.allow_unsigned is None else body.allow_unsigned
    try:
        entry = gateway_entry(gateway_id, body.public_key, badges, allow_unsigned=allow_unsigned)
    except ValueError as exc:
        where = "gateway_id" if gateway_id in RESERVED_GATEWAY_IDS else "public_key"
        raise RegistryChangeError([EstateError(None, where, str(exc))]) from None
    ctx.registry.put_gateway(entry)
    return get_gateway(gateway_id, scope, ctx)


@router.delete("/gateways/{gateway_id}", tags=["registry"], status_code=204, summary="Revoke a gateway (admin)")
def delete_gateway(gateway_id: str, scope: AdminScope, ctx: Ctx) -> Response:
    if not ctx.registry.delete_gateway(gateway_id):
        raise NotFound("gateway", gateway_id)
    return Response(status_code=204)


@router.get("/badges", tags=["registry"], summary="Team badges (pseudonyms, never names)", responses=PAGED)
def list_badges(scope: StaffScope, ctx: Ctx, page: SmallPage) -> list[BadgeOut]:
    return [
        BadgeOut(badge=b.badge, team=b.team, active=b.active) for b in page.of(list(ctx.registry.badges().values()))
    ]


@router.put("/badges/{badge}", tags=["registry"], summary="Register a team badge (admin)")
def put_badge(badge: BadgeStr, body: BadgeIn, scope: AdminScope, ctx: Ctx) -> BadgeOut:
    ctx.registry.put_badge(BadgeEntry(badge, body.team, body.active))
    return BadgeOut(badge=badge, team=body.team, active=body.active)


@router.delete("/badges/{badge}", tags=["registry"], status_code=204, summary="Remove a team badge (admin)")
def delete_badge(badge: str, scope: AdminScope, ctx: Ctx) -> Response:
    if not ctx.registry.delete_badge(badge):
        raise NotFound("badge", badge)
    return Response(status_code=204)


# ---- API tokens (admin): revoked in the operational database, refused by every API process at once ----


@router.delete(
    "/tokens/{name}",
    tags=["registry"],
    status_code=204,
    summary="Revoke every API token of that name (admin); the page sessions it opened end too",
)
def revoke_token(name: str, scope: AdminScope, ctx: Ctx) -> Response:
    if not isinstance(ctx.tokens, RevocableTokens):
        raise HTTPException(409, "this API reads its tokens from a file: remove the entry from the file")
    if not ctx.tokens.revoke_name(name):
        raise NotFound("token", name)
    return Response(status_code=204)


# ---- the estate file ---------------------------------------------------------------------------


@router.get(
    "/estate-file",
    tags=["estate file"],
    summary="Export the registry as an estate file (admin; EID keys omitted)",
    response_class=Response,
    responses={200: {"content": {"application/yaml": {"schema": {"type": "object", "description": ESTATE_DOC}}}}},
)
def export_estate(scope: AdminScope, ctx: Ctx) -> Response:
    text = registry_to_yaml(ctx.registry.registry, secrets=False)
    return Response(
        text,
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="estate.yaml"'},
    )


async def _yaml_text(request: Request) -> str:
    raw = await request.body()  # the request guard stopped it at max_import_body_bytes already
    limit = get_ctx(request).settings.max_import_body_bytes
    if len(raw) > limit:
        raise HTTPException(413, f"request body larger than {limit} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise EstateFileError("estate.yaml", [EstateError(None, "", "not UTF-8 text")]) from None


def _import_out(registry: Registry, applied: bool) -> EstateImportOut:
    return EstateImportOut(
        revision=registry.revision,
        landlords=len(registry.landlords),
        estates=len(registry.estates),
        buildings=len(registry.buildings),
        checkpoints=len(registry.checkpoints),
        applied=applied,
    )


@router.post(
    "/estate-file/check",
    tags=["estate file"],
    responses=ESTATE_ERRORS,
    summary="Validate an estate file without applying it (admin)",
    openapi_extra=YAML_REQUEST,
)
async def check_estate(request: Request, scope: AdminScope, ctx: Ctx) -> EstateImportOut:
    doc = ctx.registry.check_import(await _yaml_text(request))
    return _import_out(registry_from_document(doc), applied=False)


@router.put(
    "/estate-file",
    tags=["estate file"],
    responses=ESTATE_ERRORS,
    summary="Replace the registry from an estate file (admin); omitted EID keys are kept",
    openapi_extra=YAML_REQUEST,
)
async def import_estate(request: Request, scope: AdminScope, ctx: Ctx) -> EstateImportOut:
    registry = ctx.registry.import_text(await _yaml_text(request), author=scope.principal.name)
    return _import_out(registry, applied=True)
