"""Checks of a whole file's rows that field checks (``loaders.validate``) cannot make alone.

Duplicate keys and source ids, relation ends given by reference or by name, a party related
to itself, current holdings of one firm over 100 %, stakes derived from subscribed amounts,
and which optional fields may be emptied with a warning rather than reject their row. Each
adds what it finds to the file's :class:`~loaders.validate.Problems`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.domain import EndSpec, KeySubstitute, NodeSpec, RecordSpec, RelationSpec
from loaders.read import Contents
from loaders.validate import Problems, duplicate_rows

Spec = NodeSpec | RelationSpec | RecordSpec
"""The domain spec of one contract file."""

ROUNDING = 0.005
"""Slack of ``total_max``: stakes given to two decimals of a percent add up to 100.01 %."""

SHARE, SUBSCRIBED, SHARE_DERIVED = "share", "subscribed_amount", "share_derived"
"""The stake of a holding, the amount subscribed, and whether the stake was derived from it."""

NAMED = "_from_name"
"""Store-form column of a relation: the name of a person known by name only that the row
names (written as a Person with the row), null for the other rows; stores never see it."""

_SUBSTITUTE_MARK = "~"
"""Starts the key part that stands in for an empty key field (a guarantee without its contract
number is keyed ``guarantor|guaranteed|~valid_from~amount~currency``)."""


def missing_identity(spec: Spec, present: set[str]) -> list[str]:
    """Identifying columns a file lacks: a persons file needs ``id_number`` or
    ``source_id``; a relation file the reference column of a person end or its name column."""
    if isinstance(spec, NodeSpec):
        alternate = spec.alternate_key
        if alternate is not None and not {spec.key, alternate} & present:
            return [f"{spec.key} (or {alternate})"]
    if isinstance(spec, RelationSpec):
        end = spec.source
        if end.name_field is not None and not {end.field, end.name_field} & present:
            return [f"{end.field} (or {end.name_field})"]
    return []


def person_by_name(
    spec: RelationSpec,
    end: EndSpec,
    refs: pa.Array | pa.ChunkedArray,
    names: pa.Array | pa.ChunkedArray | None,
    is_person: np.ndarray,
    problems: Problems,
) -> np.ndarray:
    """Rows naming a person known by name only (no reference, a name); rows with neither
    are rejected (an enterprise end is never taken by name)."""
    empty = as_flags(pc.is_null(refs))
    named = as_flags(pc.is_valid(names)) if names is not None else np.zeros(len(empty), bool)
    by_name = empty & named & is_person
    if end.name_field is None:
        problems.add(empty, end.field, "required value is empty", None)
        return np.asarray(by_name)
    problems.add(
        empty & ~named & is_person,
        end.field,
        f"required value is empty: give {end.field} (an ID number or a source id) or "
        f"{end.name_field}",
        None,
    )
    if end.type_field is not None:
        problems.add(
            empty & ~is_person,
            end.field,
            f"required value is empty: an enterprise {end.type_field.removesuffix('_type')} "
            f"needs {end.field} ({end.name_field} is for persons)",
            None,
        )
    return np.asarray(by_name)


def reject_shared_source_ids(
    contents: Contents, source: pa.Array | pa.ChunkedArray, field_name: str, problems: Problems
) -> None:
    """A source id names one person: a row repeating an earlier row's source id (the two
    keyed by different ID numbers, or one by the source id) is rejected."""
    given = ~problems.bad & as_flags(pc.is_valid(source))
    if given.sum() < 2:
        return
    at = np.flatnonzero(given)
    dup, first = duplicate_rows(pc.take(source, pa.array(at)))
    if not dup.any():
        return
    lines = contents.lines({int(at[f]) + 1 for f in first[dup]})
    shown = pa.array([f"same {field_name} as line {lines[int(at[f]) + 1]}" for f in first[dup]])
    rows = np.zeros(len(given), dtype=bool)
    rows[at[dup]] = True
    problems.add(
        rows,
        field_name,
        "duplicate key: a source id names one person",
        spread_rows(shown, at[dup], len(given)),
    )


def _identifying(spec: Spec) -> set[str]:
    """Fields that identify a row or name its ends: a bad value there rejects the row."""
    if isinstance(spec, RelationSpec):
        ends = {spec.source.field, spec.target.field, spec.source.type_field}
        return {*spec.key, *(f for f in ends if f is not None)}
    if isinstance(spec, NodeSpec):
        return {spec.key}
    return {"record_no", "enterprise_id"}


def soft_fields(spec: Spec, raw: pa.Table, mapping: dict[str, str]) -> dict[str, np.ndarray | None]:
    """The optional fields of ``spec`` whose bad values are emptied with a warning (see
    :class:`Problems`), with the rows where that holds when not all.

    Kept strict: required fields, fields that identify the row or name an end, identifier
    fields (a source id), and fields with a default (emptied, they would take the default:
    a bad ``status`` is not ``active``). A field that stands in for an empty key field (the
    amount of a guarantee without a contract number) identifies the rows where it does.
    """
    hard = _identifying(spec)
    sub = spec.key_substitute if isinstance(spec, RelationSpec) else None
    soft: dict[str, np.ndarray | None] = {}
    for f in spec.fields:
        if f.required or f.default is not None or f.check or f.derived or f.name in hard:
            continue
        rows: np.ndarray | None = None
        if sub is not None and f.name in sub.fields:
            column = mapping.get(sub.field)
            if column is None:
                continue
            given = pc.utf8_trim_whitespace(pc.cast(raw[column], pa.string()))
            rows = as_flags(pc.not_equal(given, ""))
        soft[f.name] = rows
        if f.percent_column:
            soft[f.percent_column] = rows
    return soft


def personal_fields(spec: Spec) -> set[str]:
    """Fields whose values are masked in reject and warning files: a person's phone and
    e-mail (ID numbers are masked wherever they appear)."""
    if not isinstance(spec, NodeSpec) or spec.label != "Person":
        return set()
    return {f.name for f in spec.fields if f.normalise in ("phone", "email")}


def reject_duplicates(
    contents: Contents, keys: pa.Array | pa.ChunkedArray, field_name: str, problems: Problems
) -> None:
    if len(keys) == 0:
        return
    dup, first = duplicate_rows(pc.fill_null(keys, ""))
    if dup.any():
        lines = contents.lines({int(r) + 1 for r in first[dup]})

        def shown(firsts: pa.Array) -> pa.Array:
            return pa.array([f"same key as line {lines[r + 1]}" for r in firsts.to_pylist()])

        problems.add(dup, field_name, "duplicate key", pa.array(first), shown)


def check_self_relations(
    spec: RelationSpec,
    ends: dict[str, tuple[pa.Array, pa.Array]],
    table: pa.Table,
    problems: Problems,
) -> None:
    """A relation of a party with itself: rejected (a firm guaranteeing itself cannot be
    true), or loaded with a warning where the domain says why it can be (treasury shares)."""
    (src, src_label), (dst, dst_label) = ends["_from"], ends["_to"]
    same = as_flags(pc.and_(pc.equal(src, dst), pc.equal(src_label, dst_label)))
    reason = f"{spec.source.field} and {spec.target.field} are the same party"
    values = table[spec.target.field]
    if spec.self_relation:
        problems.warn(same, spec.target.field, f"{reason}: {spec.self_relation}; loaded", values)
    else:
        problems.add(same, spec.target.field, reason, values)


def warn_totals(spec: RelationSpec, table: pa.Table, problems: Problems) -> None:
    """Current rows (no ``valid_to``) of one target whose field adds up to more than the
    field's ``total_max`` (holdings over 100 %) are loaded with a warning on every row."""
    target = spec.target.field
    for f in spec.fields:
        if f.total_max is None or f.name not in table.column_names:
            continue
        current = ~problems.bad & as_flags(pc.is_valid(table[f.name]))
        if "valid_to" in table.column_names:
            current &= as_flags(pc.is_null(table["valid_to"]))
        rows = table.filter(pa.array(current))
        sums = rows.group_by(target).aggregate([(f.name, "sum")])
        over = sums.filter(pc.greater(sums[f"{f.name}_sum"], f.total_max + ROUNDING))
        if over.num_rows == 0:
            continue
        hit = current & as_flags(pc.is_in(table[target], value_set=over[target]))
        total = pc.take(over[f"{f.name}_sum"], pc.index_in(table[target], value_set=over[target]))
        shown = pc.binary_join_element_wise(
            as_text(table[f.name]), as_text(pc.round(total, 4)), " of a total of "
        )
        problems.warn(
            hit,
            f.name,
            f"current rows of one {target} add up to more than {f.total_max:g}; loaded, "
            "check the source",
            shown,
        )


def substitute_key(spec: RelationSpec, table: pa.Table, sub: KeySubstitute, n: int) -> pa.Array:
    """The key part of ``sub.field``: its value, or where it is empty ``~`` and the
    substitute fields joined by ``~`` (an empty one as nothing, a column left out as its
    default: the currency a new row is stored with)."""
    given = column_or_nulls(table, sub.field, n)
    others = [
        pc.fill_null(as_text(column_or_nulls(table, k, n)), spec.field(k).default or "")
        for k in sub.fields
    ]
    stand_in = pc.binary_join_element_wise(
        pa.repeat(pa.scalar("", pa.string()), n), *others, _SUBSTITUTE_MARK
    )
    return pc.if_else(pc.is_valid(given), as_text(given), stand_in)


def as_text(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    return pc.cast(col, pa.string())


def as_floats(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)


def spread_rows(shown: pa.Array, at: np.ndarray, n: int) -> pa.Array:
    """``shown`` placed at rows ``at`` of a column of ``n`` rows (null elsewhere)."""
    index = np.full(n, -1, dtype=np.int64)
    index[at] = np.arange(len(at))
    return shown.take(pa.array(index, mask=index < 0))


def column_or_nulls(table: pa.Table, name: str, n: int) -> pa.Array | pa.ChunkedArray:
    return table[name] if name in table.column_names else pa.nulls(n, pa.string())


def as_flags(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def derive_shares(
    spec: RelationSpec,
    table: pa.Table,
    problems: Problems,
    capital_of: Callable[[pa.Array], pa.Array],
) -> pa.Table:
    """Fill an empty ``share`` with ``subscribed_amount`` / the target's registered capital
    (capped at 1, with a warning above it) and flag it in ``share_derived``.

    A file without a ``share`` column keeps the stored shares, unless it gives subscribed
    amounts: then its shares are the derived ones (empty where they cannot be derived).
    ``capital_of`` gives the registered capital of target enterprises (null if unknown).
    """
    n = table.num_rows
    has_share = SHARE in table.column_names
    if SUBSCRIBED not in table.column_names:
        if has_share:
            return table.append_column(SHARE_DERIVED, pa.array(np.zeros(n, dtype=bool)))
        return table
    share = table[SHARE] if has_share else pa.nulls(n, pa.float64())
    subscribed = table[SUBSCRIBED]
    wanted = ~problems.bad & as_flags(pc.is_null(share)) & as_flags(pc.is_valid(subscribed))
    if not has_share and not wanted.any():
        return table
    derived = np.zeros(n, dtype=bool)
    values = np.full(n, np.nan)
    if wanted.any():
        rows = pa.array(np.flatnonzero(wanted))
        targets = pc.take(table[spec.target.field], rows).combine_chunks()
        capital = as_floats(capital_of(targets))
        amount = as_floats(pc.take(subscribed, rows))
        ok = np.isfinite(capital) & (capital > 0)
        ratio = np.divide(amount, capital, out=np.full(len(amount), np.nan), where=ok)
        over = ok & (ratio > 1 + ROUNDING)
        if over.any():
            at = np.flatnonzero(wanted)[over]
            shown = pa.array(
                [
                    f"{a:g} / {c:g} = {r:.4g}"
                    for a, c, r in zip(amount[over], capital[over], ratio[over], strict=True)
                ]
            )
            full = np.zeros(n, dtype=bool)
            full[at] = True
            problems.warn(
                full,
                SHARE,
                "derived share (subscribed_amount / the target's registered_capital) is "
                "above 1; loaded as 1, check the source",
                spread_rows(shown, at, n),
            )
        picked = np.flatnonzero(wanted)[ok]
        values[picked] = np.minimum(ratio[ok], 1.0)
        derived[picked] = True
    filled = pc.if_else(
        pa.array(derived), pa.array(values, pa.float64()), pc.cast(share, pa.float64())
    )
    if has_share:
        table = table.set_column(table.column_names.index(SHARE), SHARE, filled)
    else:
        table = table.append_column(SHARE, filled)
    return table.append_column(SHARE_DERIVED, pa.array(derived))
