"""Labels: did an enterprise have a bad outcome in the months after an as-of date?

An enterprise is *bad at horizon H* for the as-of date t when, in the window
(t, t + H months], at least one of the configured events starts. The events a model may
learn are the ``outcomes`` of domain.yaml; by default:

- ``abnormal_list:no_annual_report``, ``abnormal_list:unreachable_address``: it enters the
  abnormal-operation list (经营异常名录) for a missed annual report or an unreachable address;
- ``black_list``: it enters the black list (严重违法失信名单);
- ``dishonest_debtor``: a court lists it as a dishonest judgment debtor (失信被执行人);
- ``penalty:severe``: it receives a severe administrative penalty;
- ``guarantee_default``: a loan of its own that another firm guarantees defaults
  (it is the guaranteed party and ``defaulted_on`` falls in the window).

Others may be chosen: a record kind whole or narrowed (``status_event:bankruptcy``,
``status_event:revocation``, ``inspection:problem_found``, ``enforcement`` …) and the
enterprise's status (``status:revoked``: its licence revoked on ``deregistered_on``).
The user's own outcomes (a labels file, ``risk.model.label_file``) replace the store's
events when given: their label names are then the events.

Labels read only that window; features read only the snapshot of t. An enterprise already
listed on t stays in the population and is scored: only a *new* event makes it bad (an entry
still in force is not one, a new entry of any configured kind is).

Records withdrawn by the last observed day do not count: one annulled by an upheld objection
was wrong, and a repaired one may no longer be used at all (NDRC Order 36, as the snapshots
apply it). A record still under objection counts.

A window must be fully observed: t + H may not pass the last day the loaded data are
complete for (the ``data_through`` setting, or by default the latest record start in the
store). Labels for later as-of dates are refused, because a firm with no event yet would be
counted good only for lack of time.

The store exports guarantees as of a date, so defaults are read from the guarantees in force
at every month-end of the label period and on its last day, deduplicated by key: a guarantee
whose whole term lies between two month-ends (shorter than a month) is not seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.domain import GUARANTEE_DEFAULT, STATUS_OUTCOME, load_domain
from graph_model.record_rules import DISPUTE_RESOLVED_ON, DISPUTE_UPHELD, REPAIRED_ON, withdrawn
from graph_model.store.protocol import GraphStore
from risk.model.dates import month_ends, shift_months
from risk.model.errors import ModelError

DEFAULT_EVENTS = load_domain().outcomes.default_events
"""The events used when none are configured (domain.yaml ``outcomes``)."""

_EPOCH = date(1970, 1, 1)
_LAST_DAY = date(9999, 12, 31)
_EXPORT_ROWS = 1_000_000
_BY_FIELDS = tuple(dict.fromkeys(r.by for r in load_domain().outcomes.records if r.by))
"""The enum fields that narrow an outcome kind (``kind:value``), read with the records."""
_RECORD_COLUMNS = pa.schema(
    [
        ("enterprise_id", pa.string()),
        ("kind", pa.string()),
        ("start", pa.date32()),
        *((name, pa.string()) for name in _BY_FIELDS),
        (REPAIRED_ON, pa.date32()),
        (DISPUTE_RESOLVED_ON, pa.date32()),
        (DISPUTE_UPHELD, pa.bool_()),
    ]
)


def _days(day: date) -> int:
    return (day - _EPOCH).days


@dataclass(frozen=True)
class LabelDefinition:
    """The horizon in months and the events that make an enterprise bad: outcomes of the
    domain read from the store, or (``from_file``) the label names of a labels file."""

    horizon_months: int = 12
    events: tuple[str, ...] = DEFAULT_EVENTS
    from_file: bool = False

    def __post_init__(self) -> None:
        if self.horizon_months < 1:
            raise ModelError(
                f"the label horizon must be at least 1 month, not {self.horizon_months}"
            )
        if not self.events:
            raise ModelError("no label events configured: name at least one (see docs/model.md)")
        if self.from_file:
            return
        outcomes = load_domain().outcomes
        for event in self.events:
            kind, _, value = event.partition(":")
            narrowed = outcomes.record(kind)
            if kind == STATUS_OUTCOME and value and narrowed is None:
                allowed = outcomes.status_values
                what = f"the enterprise {outcomes.status_field}"
            elif narrowed is not None and narrowed.by and value:
                allowed, what = narrowed.values, f"{kind} {narrowed.by}"
            elif event in outcomes.choices:
                continue
            else:
                raise ModelError(
                    f"unknown label event {event!r}; use one of {list(outcomes.choices)} "
                    "(domain.yaml outcomes)"
                )
            if value not in allowed:
                raise ModelError(f"label event {event!r}: {what} must be one of {allowed}")

    def window_end(self, as_of: date) -> date:
        """Last day of the label window of ``as_of``."""
        return shift_months(as_of, self.horizon_months)

    def to_dict(self) -> dict[str, object]:
        return {"horizon_months": self.horizon_months, "events": list(self.events)}


@dataclass(frozen=True)
class LabelEvents:
    """Every configured event: enterprise, day and event name, aligned arrays, with where
    they came from (``source``: the store's outcome kinds, or a labels file)."""

    definition: LabelDefinition
    enterprise_ids: pa.Array
    days: np.ndarray
    events: np.ndarray
    observed_through: date
    source: Mapping[str, object] = field(default_factory=lambda: {"kind": "store"})

    @classmethod
    def from_store(
        cls,
        store: GraphStore,
        definition: LabelDefinition,
        first_as_of: date,
        observed_through: date,
    ) -> LabelEvents:
        """Read the events after ``first_as_of`` up to ``observed_through``."""
        outcomes = load_domain().outcomes
        records = _records(store, observed_through)
        records = records.filter(pc.greater(records["start"], pa.scalar(first_as_of, pa.date32())))
        ids, days, names = [], [], []
        status = [e for e in definition.events if e.partition(":")[0] == STATUS_OUTCOME]
        for event in definition.events:
            kind, _, value = event.partition(":")
            if event == GUARANTEE_DEFAULT or event in status:
                continue
            mask = pc.equal(records["kind"], kind)
            by = outcomes.record(kind)
            if value and by is not None and by.by is not None:
                mask = pc.and_(mask, pc.equal(records[by.by], value))
            chosen = records.filter(pc.fill_null(mask, False))
            ids.append(chosen["enterprise_id"].combine_chunks())
            days.append(_day_numbers(chosen["start"]))
            names.append(np.full(chosen.num_rows, event, dtype=object))
        if status:
            table = _status_changes(store, first_as_of, observed_through)
            for event in status:
                chosen = table.filter(pc.equal(table["status"], event.partition(":")[2]))
                ids.append(chosen["id"].combine_chunks())
                days.append(_day_numbers(chosen["day"]))
                names.append(np.full(chosen.num_rows, event, dtype=object))
        if GUARANTEE_DEFAULT in definition.events:
            guaranteed, defaulted = _guarantee_defaults(store, first_as_of, observed_through)
            ids.append(guaranteed)
            days.append(defaulted)
            names.append(np.full(len(defaulted), GUARANTEE_DEFAULT, dtype=object))
        return cls(
            definition=definition,
            enterprise_ids=pa.concat_arrays([a.cast(pa.string()) for a in ids]),
            days=np.concatenate(days).astype(np.int64),
            events=np.concatenate(names),
            observed_through=observed_through,
            source={"kind": "store", "events": list(definition.events)},
        )

    def counts(self) -> dict[str, int]:
        """Events read of each name (every enterprise, the whole label period)."""
        names, counts = np.unique(self.events.astype(str), return_counts=True)
        found = dict(zip(names.tolist(), counts.tolist(), strict=True))
        return {event: int(found.get(event, 0)) for event in self.definition.events}

    def to_table(self) -> pa.Table:
        """The events as a labels file holds them: enterprise_id, event_date, label."""
        order = np.lexsort((self.events.astype(str), self.days))
        return pa.table(
            {
                "enterprise_id": self.enterprise_ids.take(pa.array(order)),
                "event_date": pa.array(self.days[order].astype("datetime64[D]"), pa.date32()),
                "label": pa.array(self.events[order].tolist(), pa.string()),
            }
        )

    def check_observed(self, as_of: date) -> None:
        """Refuse an as-of date whose label window is not fully observed."""
        end = self.definition.window_end(as_of)
        if end > self.observed_through:
            raise ModelError(
                f"as-of {as_of}: its {self.definition.horizon_months}-month label window ends "
                f"{end}, after the last day the data are complete for ({self.observed_through}); "
                f"the latest usable as-of date is "
                f"{shift_months(self.observed_through, -self.definition.horizon_months)} "
                "(set CREDITGRAPH_DATA_THROUGH if the data are complete later than the last record)"
            )

    def _in_window(self, as_of: date) -> np.ndarray:
        self.check_observed(as_of)
        end = self.definition.window_end(as_of)
        return (self.days > _days(as_of)) & (self.days <= _days(end))

    def labels(self, as_of: date, ids: pa.Array) -> np.ndarray:
        """For each id, True when it has an event in the window of ``as_of``."""
        bad = self.enterprise_ids.filter(pa.array(self._in_window(as_of)))
        return np.asarray(
            pc.is_in(ids, value_set=pc.unique(bad)).to_numpy(zero_copy_only=False), dtype=bool
        )

    def event_counts(self, as_of: date, ids: pa.Array) -> dict[str, int]:
        """Enterprises among ``ids`` with each event in the window of ``as_of``."""
        window = self._in_window(as_of)
        out = {}
        for event in self.definition.events:
            chosen = self.enterprise_ids.filter(pa.array(window & (self.events == event)))
            out[event] = int(pc.sum(pc.is_in(ids, value_set=pc.unique(chosen))).as_py() or 0)
        return out


def label_source_lines(label: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Where a model's labels came from and how many of each, as (title, text) pairs, from
    the label section of a manifest (older manifests say only the events)."""
    source = label.get("source") or {"kind": "store"}
    counts = label.get("counts")
    if source["kind"] == "file":
        lines = [
            (
                "labels from",
                f"file {source['path']} ({source['format']}, sha256 {source['sha256']})",
            ),
            (
                "file rows",
                f"{source['rows']:,} ({source['duplicate_rows']:,} repeated, counted once)"
                + (
                    f"; columns ignored: {', '.join(source['ignored_columns'])}"
                    if source["ignored_columns"]
                    else ""
                ),
            ),
        ]
        left = []
        if source["unknown_rows"]:
            left.append(
                f"{source['unknown_rows']:,} rows of {source['unknown_enterprises']:,} "
                f"enterprises the store does not hold ({'; '.join(source['unknown_examples'])}"
                + ("; …" if source["unknown_rows"] > len(source["unknown_examples"]) else "")
                + ")"
            )
        if source["after_data_through"]:
            left.append(f"{source['after_data_through']:,} after the data-through day")
        if source["before_first_as_of"]:
            left.append(f"{source['before_first_as_of']:,} on or before the first as-of date")
        if left:
            lines.append(("rows not used", "; ".join(left)))
    else:
        lines = [("labels from", "the store's events: " + ", ".join(label["events"]))]
    if counts is not None:
        lines.append(
            (
                "events per label",
                "; ".join(f"{name} {n:,}" for name, n in counts.items())
                + " (after the first as-of date, through the data-through day)",
            )
        )
    return lines


def latest_record_start(store: GraphStore) -> date | None:
    """The latest ``start`` of any record in the store (None when it holds none): by
    default, the data are taken to be complete through that day."""
    records = _records(store, _LAST_DAY)
    return pc.max(records["start"]).as_py() if records.num_rows else None


def _records(store: GraphStore, as_of: date) -> pa.Table:
    """Records started by ``as_of`` and not withdrawn by then (repaired, or annulled by an
    upheld objection), with the columns labels read; an empty table if none."""
    pages = [
        p.select(_RECORD_COLUMNS.names).cast(_RECORD_COLUMNS)
        for p in store.export_records(as_of, _EXPORT_ROWS)
        if p.num_rows
    ]
    if not pages:
        return _RECORD_COLUMNS.empty_table()
    table = pa.concat_tables(pages).combine_chunks()
    return table.filter(pa.array(~withdrawn(table, as_of)))


def _status_changes(store: GraphStore, first: date, last: date) -> pa.Table:
    """Enterprises whose status ended (outcomes ``status``) on a day in (first, last]:
    id, status and that day; those with no date are not outcomes (when is unknown)."""
    outcomes = load_domain().outcomes
    status, when = outcomes.status_field, outcomes.status_date
    pages = [
        p.select(["id", status, when])
        for p in store.export_nodes("Enterprise", last, _EXPORT_ROWS)
        if p.num_rows
    ]
    schema = pa.schema([("id", pa.string()), ("status", pa.string()), ("day", pa.date32())])
    if not pages:
        return schema.empty_table()
    table = pa.concat_tables(pages).combine_chunks()
    table = pa.table(
        [table["id"].cast(pa.string()), table[status].cast(pa.string()), table[when]],
        schema=schema,
    )
    inside = pc.and_(
        pc.greater(table["day"], pa.scalar(first, pa.date32())),
        pc.less_equal(table["day"], pa.scalar(last, pa.date32())),
    )
    return table.filter(pc.fill_null(inside, False))


def _day_numbers(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(pc.cast(column, pa.int32()).to_numpy(zero_copy_only=False), dtype=np.int64)


def _guarantee_defaults(store: GraphStore, first: date, last: date) -> tuple[pa.Array, np.ndarray]:
    """Guaranteed enterprise and default day of every guarantee that defaulted in
    (first, last], from the guarantees in force at each month-end and on ``last``."""
    outcomes = load_domain().outcomes
    pages = []
    for day in [*month_ends(first, last), last]:
        for page in store.export_relations(outcomes.guarantee_relation, day, _EXPORT_ROWS):
            if page.num_rows:
                pages.append(page.select(["key", "_to", outcomes.guarantee_date]))
    if not pages:
        return pa.array([], pa.string()), np.array([], dtype=np.int64)
    table = pa.concat_tables(pages).combine_chunks()
    table = table.rename_columns(["key", "_to", "defaulted_on"])
    when = table["defaulted_on"]
    inside = pc.and_(
        pc.greater(when, pa.scalar(first, pa.date32())),
        pc.less_equal(when, pa.scalar(last, pa.date32())),
    )
    table = table.filter(pc.fill_null(inside, False))
    # The same guarantee is exported at every month-end it was in force: keep it once.
    _, first_row = np.unique(
        np.asarray(table["key"].to_numpy(zero_copy_only=False), dtype=object), return_index=True
    )
    table = table.take(pa.array(np.sort(first_row)))
    return table["_to"].combine_chunks(), _day_numbers(table["defaulted_on"])
