"""The estate file: landlords, estates, buildings and checkpoints with their beacons.

A versioned YAML file (``format: ronde-estate``, ``version: 1``) is the registry's source of
truth: the simulator walks it, ingest enriches visits with it, the API serves it. Loading
validates everything once and reports each error with its line, e.g.
``estate.yaml:42: checkpoints[3].landlord: unknown landlord 'i3f'``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ronde.protocol.errors import dotted, validation_issues
from ronde.protocol.kinds import CheckpointKind as CheckpointKind  # noqa: PLC0414 - re-exported (its home before)
from ronde.protocol.messages import AltBeaconId, EddystoneUidId, IBeaconId
from ronde.protocol.plain_text import PlainText

if TYPE_CHECKING:  # PyYAML is imported by the functions that read or write a file: an ingest worker calls none
    import yaml

ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"


# Vocabulary of the launch announcement (communiqué), for the French interface.
KIND_LABELS_FR: Mapping[CheckpointKind, str] = {
    CheckpointKind.STAIRWELL_HALL: "hall d'immeuble (espaces communs)",
    CheckpointKind.CAR_PARK_SURFACE: "parking en surface",
    CheckpointKind.CAR_PARK_UNDERGROUND: "parking en sous-sol",
    CheckpointKind.GREEN_SPACE: "espace vert",
    CheckpointKind.PLAYGROUND: "aire de jeux",
    CheckpointKind.FOOTPATH: "cheminement piéton",
    CheckpointKind.RECEPTION_OFFICE: "bureau d'accueil et de proximité",
}
KIND_LABELS_EN: Mapping[CheckpointKind, str] = {
    CheckpointKind.STAIRWELL_HALL: "stairwell hall",
    CheckpointKind.CAR_PARK_SURFACE: "surface car park",
    CheckpointKind.CAR_PARK_UNDERGROUND: "underground car park",
    CheckpointKind.GREEN_SPACE: "green space",
    CheckpointKind.PLAYGROUND: "playground",
    CheckpointKind.FOOTPATH: "footpath",
    CheckpointKind.RECEPTION_OFFICE: "reception office",
}
# Visits expected per service day unless a checkpoint overrides it.
DEFAULT_EXPECTED_VISITS: Mapping[CheckpointKind, int] = {k: 1 for k in CheckpointKind}
# Radius (m) within which a team counts as "at" the checkpoint (simulator ground truth).
DEFAULT_RADIUS_M: Mapping[CheckpointKind, float] = {
    CheckpointKind.STAIRWELL_HALL: 4.0,
    CheckpointKind.CAR_PARK_SURFACE: 12.0,
    CheckpointKind.CAR_PARK_UNDERGROUND: 12.0,
    CheckpointKind.GREEN_SPACE: 12.0,
    CheckpointKind.PLAYGROUND: 8.0,
    CheckpointKind.FOOTPATH: 6.0,
    CheckpointKind.RECEPTION_OFFICE: 5.0,
}


# ---- file models (pydantic: this is an edge) -------------------------------------------------


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LandlordFile(_File):
    id: str = Field(pattern=ID)
    name: PlainText = Field(min_length=1, max_length=120)
    dwellings: int = Field(ge=0)


class EstateFile(_File):
    id: str = Field(pattern=ID)
    name: PlainText = Field(min_length=1, max_length=120)
    city: PlainText = Field(min_length=1, max_length=120)


Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
LatLonFile = tuple[Lat, Lon]
MAX_FOOTPRINT_POINTS = 200  # a building outline; more is a survey, not a plan
MAX_WALKWAY_POINTS = 500
MAX_WALKWAYS = 2000


class BuildingFile(_File):
    id: str = Field(pattern=ID)
    name: PlainText = Field(min_length=1, max_length=200)
    estate: PlainText
    landlord: PlainText
    dwellings: int = Field(default=0, ge=0)
    footprint: list[LatLonFile] | None = Field(
        default=None,
        min_length=3,
        max_length=MAX_FOOTPRINT_POINTS,
        description="outline as [lat, lon] vertices (WGS 84), in order, not closed: the plan draws it",
    )


class WalkwayFile(_File):
    """A footpath or street drawn on the plan: a polyline of [lat, lon] points (WGS 84).

    Cartography only: the simulator's walking graph is ``paths`` (links between checkpoints)."""

    id: str = Field(pattern=ID)
    estate: PlainText
    name: PlainText | None = Field(default=None, min_length=1, max_length=200)
    points: list[LatLonFile] = Field(min_length=2, max_length=MAX_WALKWAY_POINTS)


class _BeaconRadio(_File):
    tx_power: int = Field(
        default=-59,
        ge=-100,
        le=20,
        description="dBm: measured power at 1 m (iBeacon/AltBeacon) or at 0 m (Eddystone)",
    )
    interval_ms: int = Field(default=1000, ge=20, le=10_240)


class IBeaconFile(_BeaconRadio, IBeaconId):
    pass


class AltBeaconFile(_BeaconRadio, AltBeaconId):
    pass


class EddystoneUidFile(_BeaconRadio, EddystoneUidId):
    tx_power: int = Field(default=-18, ge=-100, le=20)


class EddystoneEidFile(_BeaconRadio):
    format: Literal["eddystone_eid"] = "eddystone_eid"
    identity_key: str = Field(pattern=r"^[0-9a-f]{32}$", description="AES-128 identity key (secret)")
    rotation_exponent: int = Field(default=10, ge=0, le=15)
    clock_epoch: int = Field(ge=0, description="UTC epoch second at which the beacon's counter was 0")
    tx_power: int = Field(default=-18, ge=-100, le=20)


BeaconFile = Annotated[IBeaconFile | AltBeaconFile | EddystoneUidFile | EddystoneEidFile, Field(discriminator="format")]


class CheckpointFile(_File):
    id: str = Field(pattern=ID)
    name: PlainText = Field(min_length=1, max_length=200)
    kind: CheckpointKind
    estate: PlainText
    landlord: PlainText
    building: PlainText | None = None
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    level: int = Field(default=0, ge=-5, le=30, description="floor; negative underground")
    expected_visits: int | None = Field(default=None, ge=0, le=50)
    radius_m: float | None = Field(default=None, gt=0, le=200)
    beacon: BeaconFile


class PathFile(_File):
    """A walkable link between two checkpoints (the simulator adds straight links otherwise)."""

    a: PlainText
    b: PlainText


class EstateDocument(_File):
    format: Literal["ronde-estate"]
    version: Literal[1]
    revision: PlainText = Field(min_length=1, max_length=40)
    note: str = ""  # free text, may span lines: never copied into the registry, reports or pages
    landlords: list[LandlordFile] = Field(min_length=1)
    estates: list[EstateFile] = Field(min_length=1)
    buildings: list[BuildingFile] = Field(default_factory=list)
    checkpoints: list[CheckpointFile] = Field(min_length=1)
    paths: list[PathFile] = Field(default_factory=list)
    walkways: list[WalkwayFile] = Field(default_factory=list, max_length=MAX_WALKWAYS)

    @model_validator(mode="after")
    def _references(self) -> EstateDocument:  # noqa: PLR0912 - one check per kind of reference
        errors: list[tuple[tuple[str | int, ...], str]] = []
        for section in ("landlords", "estates", "buildings", "checkpoints", "walkways"):
            seen: set[str] = set()
            for i, item in enumerate(getattr(self, section)):
                if item.id in seen:
                    errors.append(((section, i, "id"), f"duplicate id {item.id!r}"))
                seen.add(item.id)
        landlords = {x.id for x in self.landlords}
        estates = {x.id for x in self.estates}
        buildings = {x.id: x for x in self.buildings}
        for i, b in enumerate(self.buildings):
            if b.estate not in estates:
                errors.append((("buildings", i, "estate"), f"unknown estate {b.estate!r}"))
            if b.landlord not in landlords:
                errors.append((("buildings", i, "landlord"), f"unknown landlord {b.landlord!r}"))
        beacon_keys: dict[str, str] = {}
        for i, c in enumerate(self.checkpoints):
            if c.estate not in estates:
                errors.append((("checkpoints", i, "estate"), f"unknown estate {c.estate!r}"))
            if c.landlord not in landlords:
                errors.append((("checkpoints", i, "landlord"), f"unknown landlord {c.landlord!r}"))
            if c.building is not None:
                bb = buildings.get(c.building)
                if bb is None:
                    errors.append((("checkpoints", i, "building"), f"unknown building {c.building!r}"))
                elif bb.landlord != c.landlord or bb.estate != c.estate:
                    errors.append(
                        (("checkpoints", i, "building"), f"building {bb.id!r} belongs to another landlord/estate")
                    )
            key = beacon_key_of(c.beacon)
            if key in beacon_keys:
                errors.append((("checkpoints", i, "beacon"), f"beacon already used by {beacon_keys[key]!r}"))
            beacon_keys[key] = c.id
        errors.extend(
            (("walkways", i, "estate"), f"unknown estate {w.estate!r}")
            for i, w in enumerate(self.walkways)
            if w.estate not in estates
        )
        checkpoint_ids = {c.id for c in self.checkpoints}
        for i, p in enumerate(self.paths):
            errors.extend(
                (("paths", i, end), f"unknown checkpoint {getattr(p, end)!r}")
                for end in ("a", "b")
                if getattr(p, end) not in checkpoint_ids
            )
        if errors:
            raise ReferenceErrors(errors)
        return self


class ReferenceErrors(ValueError):
    def __init__(self, errors: list[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__("; ".join(f"{dotted(loc)}: {msg}" for loc, msg in errors))
        self.errors = errors


def beacon_key_of(beacon: IBeaconFile | AltBeaconFile | EddystoneUidFile | EddystoneEidFile) -> str:
    if isinstance(beacon, EddystoneEidFile):
        return f"eddystone_eid_ik:{beacon.identity_key}"
    return beacon.key()


# ---- domain (frozen dataclasses) --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Landlord:
    id: str
    name: str
    dwellings: int


@dataclass(frozen=True, slots=True)
class Estate:
    id: str
    name: str
    city: str


LatLon = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Building:
    id: str
    name: str
    estate: str
    landlord: str
    dwellings: int
    footprint: tuple[LatLon, ...] = ()  # outline vertices (lat, lon); empty when the file gives none


@dataclass(frozen=True, slots=True)
class Walkway:
    """A footpath drawn on the plan (cartography; the simulator walks ``Registry.paths``)."""

    id: str
    estate: str
    name: str | None
    points: tuple[LatLon, ...]


@dataclass(frozen=True, slots=True)
class BeaconSpec:
    """How a checkpoint's beacon identifies itself on air.

    ``key`` is the observed identity (``ibeacon:uuid:major:minor`` …); EID beacons have no
    fixed key: they carry ``identity_key``/``rotation_exponent``/``clock_epoch`` instead.
    """

    format: str
    key: str | None
    tx_power: int
    interval_ms: int
    identity_key: bytes | None = None
    rotation_exponent: int | None = None
    clock_epoch: int | None = None
    fields: tuple[tuple[str, str | int], ...] = ()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    id: str
    name: str
    kind: CheckpointKind
    estate: str
    landlord: str
    building: str | None
    lat: float
    lon: float
    level: int
    expected_visits: int
    radius_m: float
    beacon: BeaconSpec


@dataclass(frozen=True, slots=True)
class Registry:
    revision: str
    landlords: Mapping[str, Landlord]
    estates: Mapping[str, Estate]
    buildings: Mapping[str, Building]
    checkpoints: Mapping[str, Checkpoint]
    paths: tuple[tuple[str, str], ...] = ()
    by_beacon_key: Mapping[str, str] = field(default_factory=dict)
    walkways: Mapping[str, Walkway] = field(default_factory=dict)

    def checkpoint_for_beacon(self, key: str) -> Checkpoint | None:
        cid = self.by_beacon_key.get(key)
        return None if cid is None else self.checkpoints[cid]

    def eid_checkpoints(self) -> list[Checkpoint]:
        return [c for c in self.checkpoints.values() if c.beacon.format == "eddystone_eid"]

    def checkpoints_of(self, landlord: str) -> list[Checkpoint]:
        return [c for c in self.checkpoints.values() if c.landlord == landlord]

    @property
    def total_dwellings(self) -> int:
        return sum(x.dwellings for x in self.landlords.values())


def distance_m(a: Checkpoint, b: Checkpoint) -> float:
    """Equirectangular distance, exact enough at estate scale."""
    r = 6_371_000.0
    x = math.radians(b.lon - a.lon) * math.cos(math.radians((a.lat + b.lat) / 2))
    y = math.radians(b.lat - a.lat)
    return r * math.hypot(x, y)


def _beacon_spec(b: IBeaconFile | AltBeaconFile | EddystoneUidFile | EddystoneEidFile) -> BeaconSpec:
    if isinstance(b, EddystoneEidFile):
        return BeaconSpec(
            format=b.format,
            key=None,
            tx_power=b.tx_power,
            interval_ms=b.interval_ms,
            identity_key=bytes.fromhex(b.identity_key),
            rotation_exponent=b.rotation_exponent,
            clock_epoch=b.clock_epoch,
        )
    ids = b.model_dump(exclude={"format", "tx_power", "interval_ms"})
    return BeaconSpec(
        format=b.format,
        key=b.key(),
        tx_power=b.tx_power,
        interval_ms=b.interval_ms,
        fields=tuple(sorted(ids.items())),
    )


def registry_from_document(doc: EstateDocument) -> Registry:
    checkpoints = {
        c.id: Checkpoint(
            id=c.id,
            name=c.name,
            kind=c.kind,
            estate=c.estate,
            landlord=c.landlord,
            building=c.building,
            lat=c.lat,
            lon=c.lon,
            level=c.level,
            expected_visits=c.expected_visits if c.expected_visits is not None else DEFAULT_EXPECTED_VISITS[c.kind],
            radius_m=c.radius_m if c.radius_m is not None else DEFAULT_RADIUS_M[c.kind],
            beacon=_beacon_spec(c.beacon),
        )
        for c in doc.checkpoints
    }
    return Registry(
        revision=doc.revision,
        landlords={x.id: Landlord(x.id, x.name, x.dwellings) for x in doc.landlords},
        estates={x.id: Estate(x.id, x.name, x.city) for x in doc.estates},
        buildings={
            x.id: Building(x.id, x.name, x.estate, x.landlord, x.dwellings, _points(x.footprint or ()))
            for x in doc.buildings
        },
        checkpoints=checkpoints,
        paths=tuple((p.a, p.b) for p in doc.paths),
        by_beacon_key={c.beacon.key: c.id for c in checkpoints.values() if c.beacon.key is not None},
        walkways={w.id: Walkway(w.id, w.estate, w.name, _points(w.points)) for w in doc.walkways},
    )


def _points(points: Sequence[tuple[float, float]]) -> tuple[LatLon, ...]:
    return tuple((float(lat), float(lon)) for lat, lon in points)


# ---- loading with line numbers ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EstateError:
    line: int | None
    location: str
    message: str

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line is not None else source
        return f"{where}: {self.location}: {self.message}" if self.location else f"{where}: {self.message}"


class EstateFileError(ValueError):
    def __init__(self, source: str, errors: list[EstateError]) -> None:
        self.source = source
        self.errors = errors
        super().__init__("\n".join(e.render(source) for e in errors))


def _line_index(node: yaml.Node, path: tuple[str | int, ...], out: dict[tuple[str | int, ...], int]) -> None:
    import yaml

    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*path, key)] = key_node.start_mark.line + 1
            _line_index(value_node, (*path, key), out)
            out[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, (*path, i), out)


def _nearest_line(lines: dict[tuple[str | int, ...], int], loc: tuple[str | int, ...]) -> int | None:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def parse_estate(text: str, source: str = "<estate>") -> EstateDocument:
    """Validate an estate file's text; every problem becomes an EstateError with its line.

    The text is parsed once by the bounded loader (``ronde.protocol.safe_yaml``): an alias bomb, a
    nesting bomb or an oversized text is refused with the limit it broke, its ``__cause__`` being the
    ``YamlLimitError`` (``ronde estate check`` exits 2 on those, 1 on an invalid estate).
    """
    import yaml

    from ronde.protocol import safe_yaml

    try:
        node, data = safe_yaml.compose_and_load(text, source)
    except safe_yaml.YamlLimitError as exc:
        raise EstateFileError(source, [EstateError(exc.line, "", exc.message)]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", exc)
        raise EstateFileError(source, [EstateError(line, "", f"not valid YAML: {problem}")]) from None
    if node is None or not isinstance(data, dict):
        raise EstateFileError(source, [EstateError(1, "", "expected a mapping with format: ronde-estate")])
    lines: dict[tuple[str | int, ...], int] = {}
    _line_index(node, (), lines)
    try:
        return EstateDocument.model_validate(data)
    except ValidationError as exc:
        raise EstateFileError(source, estate_errors(exc, lines)) from None


_UNION_TAGS = {"ibeacon", "altbeacon", "eddystone_uid", "eddystone_eid"}


def estate_errors(exc: ValidationError, lines: dict[tuple[str | int, ...], int] | None = None) -> list[EstateError]:
    """Each problem of an estate document's validation (``ronde.protocol.errors``, with the input:
    the operator wrote it), cross-reference errors one by one; with the file line of its location
    when ``lines`` maps locations to lines. pydantic's union tags (``ibeacon``…) are left out."""
    errors: list[EstateError] = []
    for err in exc.errors(include_url=False, include_input=False):
        ctx_err = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_err, ReferenceErrors):
            errors.extend(
                EstateError(None if lines is None else _nearest_line(lines, loc), dotted(loc), msg)
                for loc, msg in ctx_err.errors
            )
            continue
        for issue in validation_issues([err], echo_input=True, drop=_UNION_TAGS):
            line = None if lines is None else _nearest_line(lines, issue.loc)
            errors.append(EstateError(line, issue.where, issue.what))
    return errors


def load_estate(path: str | Path) -> Registry:
    """Read and validate an estate file; an oversized file is refused before it is read whole."""
    from ronde.protocol import safe_yaml

    p = Path(path)
    try:
        text = safe_yaml.read_text(p)
    except safe_yaml.YamlLimitError as exc:
        raise EstateFileError(str(p), [EstateError(exc.line, "", exc.message)]) from exc
    except UnicodeDecodeError:
        raise EstateFileError(str(p), [EstateError(None, "", "not UTF-8 text")]) from None
    return registry_from_document(parse_estate(text, str(p)))


def default_estate_path() -> Path:
    return Path(__file__).with_name("estate_sample.yaml")


def load_default_estate() -> Registry:
    return load_estate(default_estate_path())
