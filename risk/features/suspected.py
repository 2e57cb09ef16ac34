"""Suspected relations (疑似关系): enterprises sharing an address, a phone or an e-mail.

Values are compared after the loader's normalisation (addresses folded, phones
as digits, e-mails lower-cased). A value shared by many firms is weak evidence
of a tie between any two of them, so pairs are only formed inside groups of at
most ``RARE_GROUP`` firms, and weights fall as 1/(group size) (the resource
allocation index). Crowded addresses are a signal of their own
(``firms_at_address``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from risk.features.context import FeatureContext, count_by

RARE_GROUP = 10
"""DOMAIN: "≥10 firms at one address" is a signal of its own, not a set of relations."""

CONTACTS = ("address", "phone", "email")


def contact_groups(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Group index of each enterprise's value (-1 when empty) and the size of each group,
    with a last entry 0 so that ``sizes[group]`` reads 0 for enterprises without a value."""
    encoded = pc.dictionary_encode(column.combine_chunks())
    group = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    sizes = np.bincount(group[group >= 0], minlength=len(encoded.dictionary))
    return group, np.append(sizes, 0)


def sharing(column: pa.ChunkedArray, row: int) -> np.ndarray:
    """The enterprises (rows, ``row`` included) whose value of ``column`` is ``row``'s; none
    when it has no value. One scan of the column: O(n), about 5 ms at a million firms, for
    a page that asks about one firm (the served index keeps every group instead)."""
    value = column[row]
    if not value.is_valid:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(
        pc.fill_null(pc.equal(column, value), False).to_numpy(zero_copy_only=False)
    )


def suspected_pairs(
    group: np.ndarray, sizes: np.ndarray, max_group: int = RARE_GROUP
) -> tuple[np.ndarray, np.ndarray]:
    """Ordered pairs (a, b), a ≠ b, of enterprises sharing a value held by 2..``max_group``
    firms (``RARE_GROUP`` for the features; paths show weak ones too). Cost: O(n·max_group)."""
    firms = np.flatnonzero((sizes[group] >= 2) & (sizes[group] <= max_group))
    order = np.argsort(group[firms], kind="stable")
    firms, groups = firms[order], group[firms][order]
    left, right = [], []
    for offset in range(1, max_group):
        same = groups[offset:] == groups[:-offset]
        left += [firms[:-offset][same], firms[offset:][same]]
        right += [firms[offset:][same], firms[:-offset][same]]
    return np.concatenate(left or [np.array([], int)]), np.concatenate(right or [np.array([], int)])


def suspected_features(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """Columns of the ``suspected`` family (see catalog.yaml)."""
    n = ctx.n_enterprises
    ent = ctx.snapshot.enterprises
    bad = ctx.bad.astype(float)
    out: dict[str, np.ndarray] = {}
    left, right = [], []
    weight = np.zeros(n)
    for contact in CONTACTS:
        group, sizes = contact_groups(ent[contact])
        has = group >= 0
        size = sizes[group].astype(float)
        bad_in_group = np.bincount(group[has], weights=bad[has], minlength=len(sizes))
        others_bad = np.where(has, bad_in_group[group] - bad, 0.0)
        weight += np.where(size > 1, others_bad / np.maximum(size, 1), 0.0)
        if contact == "address":
            out["firms_at_address"] = np.where(has, size, np.nan)
        else:
            out[f"firms_sharing_{contact}"] = np.maximum(size - 1, 0)
        a, b = suspected_pairs(group, sizes)
        left.append(a)
        right.append(b)
    keys = np.unique(np.concatenate(left) * n + np.concatenate(right))
    out["suspected_partners"] = count_by(keys // n, n)
    out["suspected_bad_weight"] = weight
    return out
