"""The store port: one interface, several engines (SQLite embedded, InfluxDB 1.x/2.x/3.x)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple, Protocol

from ronde.store.checks import RollupVerdict
from ronde.store.day_states import DayStates
from ronde.store.read_ahead import ReadAhead
from ronde.store.records import (
    BeaconTelemetryRecord,
    DailyRollup,
    EventKey,
    GatewayStateRecord,
    LetterStates,
    MonthlyFigures,
    MonthlyRollup,
    MonthlySpan,
    MonthlySuffix,
    Rejection,
    RejectReason,
    RetentionPolicy,
    RollupFigures,
    SequenceGap,
    StoredVisit,
    TrackPoint,
    WriteBatch,
)


@dataclass(frozen=True, slots=True)
class VisitedSet:
    """Per closed service day and landlord: the checkpoints whose newest rollup that day has a visit, and the mark
    of that day's rollups (``Store.rollup_marks``) they were read under.

    Why: a group's per-day "visited" counts came from each day's rollups (``Store.rollup_visited``): at city scale
    ~2,500 rows a landlord a day, 50,000 for a month, read and split on every cold request (on influxd about half
    of a month's first request). Maintenance writes them once (``ronde.coverage.visited_sets``); a reader takes a
    day's sets only while its marks are the ones written. (Here rather than in ``records``, as ``VisitSpan``.)
    """

    day: date
    landlord: str
    mark: str
    checkpoints: tuple[str, ...]  # sorted


class VisitSpan(NamedTuple):
    """What the evening in progress reads of a stored visit (``Store.visit_spans``): its checkpoint, badge, first and
    last seen in milliseconds since the epoch (the stores' precision), service day and the checkpoint's tags. A plain
    tuple, not a ``StoredVisit``: a city's evening is thousands of visits read on every coverage request, and the
    19-field visits with their instants cost more than the rest of that evening's computation. (Here rather than in
    ``records``: that module is part of the benchmark data set's key, ``bench/city.py``.)"""

    checkpoint_id: str
    badge: str
    first_seen_ms: int
    last_seen_ms: int
    service_day: date
    kind: str
    building: str | None
    estate: str
    landlord: str


StampedSpans = tuple[str | None, list[VisitSpan]]  # ``Store.visit_spans_kept``'s: a stamp (None: not keepable)


class StoreUnavailable(Exception):
    """The engine cannot durably accept or answer now; callers retry and must not ack meanwhile."""


class StoreAccess(StrEnum):
    """What a process may do to the store's layout when it opens it.

    Only the maintenance role decides retention: when every process that opened the store rewrote
    the retention policies (InfluxDB 1.x) or bucket rules (2.x) with its own settings, the API or an
    audit run started after ingest reset ingest's configured retention to the defaults (data loss).
    """

    READ = "read"  # API, audits, dashboards: touch no layout, refuse writes
    WRITE = "write"  # a writer that does not maintain: create what is missing, change nothing that exists
    MAINTAIN = "maintain"  # ingest with maintenance, `ronde store init`: create, and set retention to its policy


class Store(Protocol):
    def open(self) -> None:
        """Prepare the store as its ``StoreAccess`` allows (READ: nothing; WRITE: create what is
        missing; MAINTAIN: create, and set retention to the configured policy). Idempotent. Raises
        StoreUnavailable (``StoreCorrupt`` when the data cannot be read as a store at all)."""

    def check(self) -> None:
        """Cheap probe that the store answers reads now (``/healthz``). Raises StoreUnavailable."""

    def close(self) -> None: ...

    def write(self, batch: WriteBatch) -> None:
        """Durably store the whole batch, idempotently (same event id → same row/point).

        Returns only when the data would survive a crash of this process. Raises StoreUnavailable.
        """

    def known_event_ids(self, keys: Collection[EventKey]) -> set[str]:
        """Which event ids are already stored as visits (dedupe across workers and restarts). The
        key's gateway and ``first_seen`` let time-series engines bound the lookup to one series and a
        narrow time range."""

    def known_rejections(self, rejections: Collection[Rejection], lookback: timedelta) -> set[tuple[str, str]]:
        """Which ``(topic, payload_sha256)`` of these rejections are already stored, received at most
        ``lookback`` before them: a message written as rejected, then redelivered because the worker
        died before its ack, is recorded once."""

    def visits(
        self,
        start: datetime,
        end: datetime,
        *,
        landlord: str | None = None,
        checkpoint_ids: Collection[str] | None = None,
        gateway_ids: Collection[str] | None = None,
    ) -> list[StoredVisit]:
        """Visits whose first_seen is in [start, end), ordered by first_seen then event_id; ``gateway_ids``: those
        gateways' only, filtered by the engine (ingest's replay check reads a few gateways' tracks over a backlog)."""

    def visit_track(self, start: datetime, end: datetime, gateway_ids: Collection[str]) -> list[TrackPoint]:
        """The visits of ``gateway_ids`` whose first_seen is in [start, end), as ``visits`` would answer them
        (in no particular order), reduced to what ingest's replay check reads: five values per visit, not a whole
        ``StoredVisit`` (on a backlog a batch reads thousands)."""

    def known_event_ids_and_track(
        self, keys: Collection[EventKey], start: datetime, end: datetime, gateway_ids: Collection[str]
    ) -> tuple[set[str], list[TrackPoint]]:
        """``(known_event_ids(keys), visit_track(start, end, gateway_ids))``, read together where the engine can:
        ingest asks for both for a batch with EID visits, and on InfluxDB both are the same gateways' series (one
        statement per gateway serves both)."""

    def visit_spans(self, start: datetime, end: datetime, *, landlord: str | None = None) -> list[VisitSpan]:
        """The visits ``visits`` would answer for [start, end) and ``landlord`` (in no particular order), reduced to
        what a day's figures and its sensing evidence read (``VisitSpan``): the evening in progress, read on every
        coverage request."""

    def visit_spans_kept(
        self, start: datetime, end: datetime, *, landlord: str | None, day: date, kept: StampedSpans | None
    ) -> StampedSpans:
        """``visit_spans(start, end, landlord=landlord)`` with a stamp under which the caller may keep them for
        the visits of service day ``day`` (None: do not keep), or ``kept`` itself (the very pair) when its stamp
        still holds: nothing a read could answer for ``day`` moved since. The stamp is read before the visits
        (SQLite: the day's event mark, committed with them) or is the count of the very points read, all
        complete (InfluxDB, where a mark can be seen before its visits and a point's fields one at a time), so
        a warm evening reads a stamp (~1 ms on SQLite, one ``count`` on influxd) instead of tonight's visits."""

    def visits_of_days(self, days: Collection[date], *, landlord: str | None = None) -> list[StoredVisit]:
        """Visits whose service_day is in ``days``, ordered by first_seen then event_id."""

    def sequence_numbers(self, gateway_id: str, start: datetime, end: datetime) -> list[int]:
        """Sorted sequence numbers stored for the gateway's visits received in [start, end)."""

    def gateways(self) -> list[str]: ...

    def rejections(
        self, start: datetime, end: datetime, *, limit: int | None = None, newest_first: bool = False
    ) -> list[Rejection]:
        """Rejections received in [start, end), oldest first (``newest_first``: the reverse), at most
        ``limit`` of them taken in that order. The limit is applied by the engine's query (``LIMIT``),
        not after loading: a flood of refused messages must not make supervision read all of it."""

    def rejection_counts(self, start: datetime, end: datetime) -> dict[RejectReason, int]:
        """How many rejections per reason were received in [start, end), counted by the engine
        (``COUNT … GROUP BY reason``) without reading the rows. Reasons with none are absent."""

    def gaps(self, start: datetime, end: datetime) -> list[SequenceGap]: ...

    def latest_telemetry(self) -> dict[str, BeaconTelemetryRecord]:
        """Newest telemetry per checkpoint."""

    def latest_gateway_states(self) -> dict[str, GatewayStateRecord]:
        """Newest state per gateway."""

    def write_rollups(self, rollups: Sequence[DailyRollup]) -> None:
        """Idempotent: a rollup for the same (day, checkpoint) replaces the previous one."""

    def rollups(self, first: date, last: date, *, landlord: str | None = None) -> list[DailyRollup]: ...

    def rollup_figures(self, first: date, last: date, *, landlord: str | None = None) -> list[RollupFigures]:
        """``rollups`` as plain tuples (``RollupFigures``), in the same order: the first, partial month of a
        period reads thousands of them, and a ``DailyRollup`` each with its instants cost most of the read."""

    def rollup_figures_by_day(self, first: date, last: date, *, landlord: str | None = None) -> list[RollupFigures]:
        """``rollup_figures`` in day order only (a day's checkpoints in any order): what a fold per checkpoint
        needs (a cold request's open tail), and an order an index can serve without a sort."""

    def heard_days(self, first: date, last: date, *, landlord: str | None = None) -> dict[str, tuple[date, date]]:
        """Per checkpoint with a rollup of at least one visit in ``first..last``: the first and the last such day.
        What sensing needs of the horizon around a period folded from figures (a beacon's nearest day heard
        before and after it), without a row a checkpoint-day: half the rows of a cold request's open tail."""

    def rollup_day_states(self, first: date, last: date, *, landlord: str | None = None) -> list[DayStates]:
        """Per checkpoint and tags with a rollup (the newest write) in ``first..last``: one code a calendar day,
        covered, visited, neither, no rollup (``ronde.store.day_states``), sorted by checkpoint and tags. What the
        open tail's states need of its closed evenings (``day_states.of_figures`` of ``rollup_figures``)."""

    def rollup_visited(self, first: date, last: date, *, landlord: str | None = None) -> dict[date, list[str]]:
        """The service days of ``first..last`` with rollups (of ``landlord`` if given), each with the checkpoints
        whose newest rollup that day has a visit: a group's per-day "visited" counts without a row of figures nor
        an object a checkpoint-day (a city landlord's month: 52,500 rollups)."""

    def write_monthly_rollups(self, rollups: Sequence[MonthlyRollup]) -> None:
        """Idempotent: a monthly rollup for the same (month, checkpoint) replaces the previous one."""

    def monthly_rollups(self, month: date, *, landlord: str | None = None) -> list[MonthlyRollup]:
        """The monthly rollups of the calendar month starting ``month`` (none when it was not folded),
        sorted by checkpoint."""

    def monthly_figures(self, month: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        """``monthly_rollups`` as plain tuples (``MonthlyFigures``), in the same order: a year's settled months
        are thousands of them, and a ``MonthlyRollup`` each with its instants cost half of folding them."""

    def write_monthly_suffixes(self, month: date, suffixes: Sequence[MonthlySuffix]) -> None:
        """The suffix letters of the calendar month starting ``month`` (its fold written by maintenance): they
        replace the month's previous ones (SQLite drops those not written again; InfluxDB, as its monthly
        rollups, keeps the newest point per (day, checkpoint))."""

    def suffix_figures(self, from_day: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        """The suffix letters starting on ``from_day`` (the fold of ``from_day``..its month's end) as
        ``MonthlyFigures``, sorted by checkpoint; none when the month was not folded with them."""

    def monthly_states(self, month: date, *, landlord: str | None = None) -> list[LetterStates] | None:
        """``monthly_figures``' checkpoint, basis and states, what a landlord's shares count (InfluxDB reads a copy
        grouped per estate, ``ronde.store.influx_states``); None when this store cannot tell them whole (the caller
        reads ``monthly_figures``)."""

    def suffix_states(self, from_day: date, *, landlord: str | None = None) -> list[LetterStates] | None:
        """As ``monthly_states``, of ``suffix_figures``."""

    def tail_states(self, from_day: date, *, landlord: str | None = None) -> list[LetterStates] | None:
        """As ``monthly_states``, of ``tail_figures``."""

    def span_states(self, from_day: date, through: date, *, landlord: str | None = None) -> list[LetterStates] | None:
        """As ``monthly_states``, of ``span_figures``."""

    def reading_ahead(self, reads: Sequence[ReadAhead]) -> AbstractContextManager[None]:
        """Start ``reads`` now (a request's, before it needs them): inside the block, each is served to the same
        call made later by this thread (``ronde.store.read_ahead``). A hint: a store that gains nothing from it
        (SQLite, in process) reads when called."""

    def write_month_spans(self, through: date, spans: Sequence[MonthlySpan]) -> None:
        """The span letters through the settled month starting ``through`` (maintenance's fold,
        ``ronde.coverage.spans``): they replace the previous ones through that month. A later write of a letter or
        suffix letter of a month a span reaches makes that span unread (SQLite drops it in the same transaction;
        InfluxDB compares the letters' marks), until it is written again."""

    def span_figures(self, from_day: date, through: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        """The span letters from ``from_day`` through the month starting ``through``, as ``MonthlyFigures``, sorted
        by checkpoint; none when they were not written, or a letter they reach was written since."""

    def write_tail_letters(self, from_day: date, letters: Sequence[MonthlyRollup]) -> None:
        """The open tail's letters from ``from_day`` (maintenance's fold, ``ronde.coverage.tail_letters``: each
        ``letter.month`` is ``from_day``): they replace every tail letter written before (SQLite drops them;
        InfluxDB keeps the newest point per (day, checkpoint), and a reader takes only its own basis)."""

    def tail_figures(self, from_day: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        """The newest tail letters from ``from_day`` as ``MonthlyFigures``, sorted by checkpoint; none when none
        was written (the reader compares their basis with the evidence it has)."""

    def write_visited_sets(self, sets: Sequence[VisitedSet]) -> None:
        """Each set replaces the one of its (day, landlord) (maintenance's fold, ``ronde.coverage.visited_sets``)."""

    def visited_sets(
        self, first: date, last: date, *, landlord: str | None = None
    ) -> dict[tuple[date, str], VisitedSet]:
        """The sets written for the days of ``first..last`` (of ``landlord`` if given), whatever their marks: the
        reader compares them with the rollups' marks."""

    def visited_set_marks(self, first: date, last: date) -> dict[tuple[date, str], str]:
        """Per (day, landlord) with a set in ``first..last``, the mark it was written with (not its checkpoints)."""

    def rollup_fingerprints(
        self, first: date, last: date, *, landlord: str | None = None
    ) -> dict[tuple[date, str], str]:
        """Per (service day, landlord) with rollups in ``first..last``, a cheap fingerprint of those rollups now,
        computed by the engine in one aggregate query (no row is read into Python): any rewrite of a rollup
        through the store changes it, as does an edit of its figures in place (``ronde.store.checks``)."""

    def rollup_marks(self, first: date, last: date, *, landlord: str | None = None) -> dict[tuple[date, str], str]:
        """Per (service day, landlord), the mark of its rollups (``ronde.store.checks.mark_of`` of the
        fingerprint): moved by every write through the store, and cheaper to read than the fingerprint
        where an engine has one (InfluxDB); edits made around the store may show in the fingerprint only."""

    def event_fingerprints(self, first: date, last: date) -> dict[date, str]:
        """Per service day in ``first..last``, a cheap fingerprint of the stored visits that may belong to it
        (one aggregate query; an engine may cover more than the day: InfluxDB's spans the UTC days the
        evening can touch). Maintenance re-checks a day whose fingerprint moved."""

    def event_marks(self, first: date, last: date) -> dict[date, str]:
        """Per service day in ``first..last`` with visits, the mark of its visits (``ronde.store.checks.mark_of`` of
        its ``event_fingerprints``): moved by every write of visits of that day through the store, and cheaper to
        read than the fingerprint where an engine has one (InfluxDB); edits made around the store may show in the
        fingerprint only. Maintenance compares marks each pass, whole fingerprints a day at a time."""

    def write_rollup_verdicts(self, verdicts: Sequence[RollupVerdict]) -> None:
        """Idempotent: a verdict for the same (day, landlord) supersedes the previous one."""

    def rollup_verdicts(self, first: date, last: date, *, landlord: str | None = None) -> list[RollupVerdict]:
        """The newest verdict per (day, landlord) in ``first..last``; none when never checked (a READ store
        predating them included). An unreadable one (corrupted, forged) is left out: shown as not checked."""

    def apply_retention(self, policy: RetentionPolicy, now: datetime) -> None:
        """Delete (SQLite) or configure expiry (InfluxDB retention policies/buckets) per policy."""
