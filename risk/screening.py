"""Screening (for banks and regulators): a risk level from public facts, with the reasons.

A bank screening a borrower may not see the regulator's grade (grades are internal, 不公开),
so the screening level is not the grade: it is read from what is public or shared with
banks — the enterprise's own records in force today, its related parties with bad records,
and its guarantee circle — by fixed rules:

- ``high``: a black-list (严重违法失信) or dishonest-debtor (失信被执行人) record in force;
- ``elevated``: an abnormal-list record, a general or severe penalty or a broken commitment
  in force; a black-listed enterprise within the related-party hops; membership of a
  guarantee circle with a default or a member with bad records;
- ``low``: none of these.

Suspected relations (疑似关系) count too: an address, phone or e-mail shared with a firm with
bad records is ``elevated`` when few firms use it (at most ``RARE_GROUP``); a value used by
more (an agent's address) is weak evidence and only noted. The shared value is shown masked
where it may be a person's (phones, e-mails).

Records count as the record rules say (graph_model/record_rules.py): the effective end, no
repaired records, no records annulled by an upheld objection; a disputed record still
counts and is marked. Related parties, shared contacts and circles are read from the served
snapshot (:class:`~risk.snapshot_index.SnapshotIndex`); the records from the store, as they
stood on the snapshot's date, so that one answer speaks of one day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

import pyarrow as pa
from rapidfuzz import fuzz

from graph_model.domain import Domain, load_domain
from graph_model.identifiers import enterprise_id_valid_array, mask_contact
from graph_model.record_rules import disputed, effective_records
from graph_model.store.protocol import GraphStore, NodeRef
from risk.features.suspected import RARE_GROUP
from risk.matching import Candidate, NameMatcher, confident, core_of
from risk.snapshot_index import CircleSummary, RelatedBad, SharedContact, SnapshotIndex

Level = Literal["low", "elevated", "high"]
LEVELS: tuple[Level, ...] = ("low", "elevated", "high")
"""Screening levels, mildest first."""
Status = Literal["ok", "invalid", "not_found", "ambiguous"]

RELATED_HOPS = 2
"""Related parties are screened within two hops (a shared person is two hops)."""

EXAMPLES = 5
"""Related firms with bad records shown with their paths; the others are counted."""

_KIND_WORDS = {
    "black_list": "black list (严重违法失信名单)",
    "dishonest_debtor": "dishonest judgment debtor (失信被执行人)",
    "abnormal_list": "abnormal operation list (经营异常名录)",
    "penalty": "administrative penalty (行政处罚)",
    "commitment": "broken credit commitment (信用承诺)",
}


@dataclass(frozen=True)
class RecordStatus:
    """A record as it counts on a day: its fields (``end`` is the effective end), whether it
    is in force and whether an objection to it is pending."""

    record: dict[str, Any]
    in_force: bool
    disputed: bool


@dataclass(frozen=True)
class Finding:
    """One reason for a screening level: a code, its level, a sentence and the ids it names."""

    code: str
    level: Level
    text: str
    subjects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Screening:
    """The screening of one enterprise."""

    enterprise_id: str
    level: Level
    findings: tuple[Finding, ...]
    records: tuple[RecordStatus, ...]
    related: tuple[RelatedBad, ...] = ()
    related_bad: int = 0
    related_black_listed: int = 0
    circle: CircleSummary | None = None
    shared: tuple[SharedContact, ...] = ()
    snapshot_as_of: date | None = None
    graph_screened: bool = False
    notes: tuple[str, ...] = field(default=())


def _records_table(records: list[dict[str, Any]], domain: Domain) -> pa.Table:
    fields = [pa.field("id", pa.string()), pa.field("kind", pa.string())]
    fields += [pa.field(f.name, f.arrow_type) for f in domain.record_fields]
    schema = pa.schema(fields)
    rows = [{name: r.get(name) for name in schema.names} for r in records]
    return pa.Table.from_pylist(rows, schema=schema)


def record_statuses(
    records: list[dict[str, Any]] | tuple[dict[str, Any], ...], on: date
) -> list[RecordStatus]:
    """The records of one enterprise as they count on ``on``: withdrawn ones (repaired,
    annulled) left out, ``end`` the effective end, with in-force and disputed flags."""
    if not records:
        return []
    domain = load_domain()
    table = effective_records(_records_table(list(records), domain), on, domain)
    pending = disputed(table)
    out = []
    for row, is_disputed in zip(table.to_pylist(), pending.tolist(), strict=True):
        kept = {k: v for k, v in row.items() if v is not None}
        start, end = row["start"], row["end"]
        in_force = start is not None and start <= on and (end is None or end > on)
        out.append(RecordStatus(kept, in_force, bool(is_disputed)))
    return out


def _own_findings(statuses: list[RecordStatus]) -> list[Finding]:
    out = []
    for status in statuses:
        if not status.in_force:
            continue
        rec = status.record
        kind = rec["kind"]
        level: Level
        if kind in ("black_list", "dishonest_debtor"):
            level = "high"
        elif (
            kind == "abnormal_list"
            or (kind == "penalty" and rec.get("severity") != "minor")
            or (kind == "commitment" and rec.get("kept") is False)
        ):
            level = "elevated"
        else:
            continue
        note = " (disputed: an objection is pending)" if status.disputed else ""
        out.append(
            Finding(
                code=f"own_{kind}",
                level=level,
                text=f"In force since {rec['start']}: {_KIND_WORDS[kind]}, record {rec['id']}"
                + note,
                subjects=(rec["id"],),
            )
        )
    return out


def _related_findings(related: list[RelatedBad], index: SnapshotIndex) -> list[Finding]:
    black = [r for r in related if r.black_listed]
    if not black:
        return []
    first = black[0]
    name = index.names[first.node]
    return [
        Finding(
            code="related_black_listed",
            level="elevated",
            text=(
                f"{len(black)} black-listed related enterprise(s) within {RELATED_HOPS} hops, "
                f"nearest {index.ids[first.node]} {name} ({first.hops} hop(s))"
            ),
            subjects=tuple(str(index.ids[r.node]) for r in black[:EXAMPLES]),
        )
    ]


_CONTACT_WORDS = {"address": "registered address", "phone": "phone", "email": "e-mail"}


def shown_value(shared: SharedContact) -> str:
    """The shared value as it may be shown: phones and e-mails masked."""
    return mask_contact(shared.contact, shared.value)


def _shared_findings(shared: list[SharedContact], index: SnapshotIndex) -> list[Finding]:
    out = []
    for c in shared:
        what = f"{_CONTACT_WORDS[c.contact]} {shown_value(c)}"
        others = c.firms - 1
        bad = (
            f", {c.bad} with bad records ({c.black_listed} black-listed)"
            if c.bad
            else ", none with bad records"
        )
        example = ""
        if c.bad:
            first = c.examples[0]
            example = f", e.g. {index.ids[first]} {index.names[first]}"
        weak = (
            f"; used by {c.firms} firms (more than {RARE_GROUP}): weak evidence of a tie"
            if c.weak
            else ""
        )
        out.append(
            Finding(
                code=f"shared_{c.contact}",
                level="elevated" if c.bad and not c.weak else "low",
                text=f"Shares its {what} with {others} other firm(s){bad}{example}{weak}",
                subjects=tuple(str(index.ids[n]) for n in c.examples),
            )
        )
    return out


def _unconverted(amounts: dict[str, float]) -> str:
    """`` + 1,000,000 USD not converted`` for amounts without a rate to CNY, else nothing."""
    said = " + ".join(f"{amount:,.0f} {code}" for code, amount in amounts.items())
    return f" + {said} not converted" if said else ""


def _circle_findings(circle: CircleSummary | None) -> list[Finding]:
    if circle is None or (circle.defaulted == 0 and circle.bad_members == 0):
        return []
    return [
        Finding(
            code="guarantee_circle",
            level="elevated",
            text=(
                f"Member of guarantee circle {circle.circle_id}: {circle.size} enterprises, "
                f"{circle.amount:,.0f} CNY guaranteed{_unconverted(circle.unconverted)}, "
                f"{circle.bad_members} member(s) with bad records, {circle.defaulted} "
                "defaulted guarantee(s)"
            ),
            subjects=(circle.circle_id,),
        )
    ]


def screen(
    enterprise_id: str,
    records: list[dict[str, Any]] | tuple[dict[str, Any], ...],
    index: SnapshotIndex,
) -> Screening:
    """Screen an enterprise: its records (from the store) as they stood on the snapshot's
    date, its related parties, shared contacts and guarantee circle from the snapshot index.
    There is no screening without a snapshot: an answer from the records alone would say
    "low" where a black-listed subsidiary is simply not known."""
    statuses = record_statuses(records, index.as_of)
    findings = _own_findings(statuses)
    related: list[RelatedBad] = []
    shared: list[SharedContact] = []
    circle = None
    notes: list[str] = []
    row = index.enterprise(enterprise_id)
    if row is None:
        notes.append(
            f"not in the snapshot of {index.as_of}: related parties and circles not screened"
        )
    else:
        related = index.related_bad(row, RELATED_HOPS)
        detail = index.circle_of(row)
        circle = detail.summary if detail is not None else None
        shared = index.shared_contacts(row)
        findings += _related_findings(related, index)
        findings += _shared_findings(shared, index)
        findings += _circle_findings(circle)
    rank = {level: i for i, level in enumerate(LEVELS)}
    findings.sort(key=lambda f: -rank[f.level])
    level: Level = findings[0].level if findings else "low"
    return Screening(
        enterprise_id=enterprise_id,
        level=level,
        findings=tuple(findings),
        records=tuple(s for s in statuses if s.in_force),
        related=tuple(related[:EXAMPLES]),
        related_bad=len(related),
        related_black_listed=sum(r.black_listed for r in related),
        circle=circle,
        shared=tuple(shared),
        snapshot_as_of=index.as_of,
        graph_screened=row is not None,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class Resolved:
    """What a screening query names: ``ok`` with an enterprise id, or why not."""

    query: str
    status: Status
    enterprise_id: str | None = None
    message: str | None = None
    candidates: tuple[NodeRef, ...] = ()


CANDIDATES = 5
"""Enterprises offered back when a name matches none exactly, or several."""

_SCHEME = re.compile(r"^[A-Z]{2,10}:")


def resolve(store: GraphStore, query: str, matcher: NameMatcher | None = None) -> Resolved:
    """Read a query as an enterprise id (USCC or external id) or an exact registered name.

    A query shaped like a USCC (18 letters and digits) or an external id (``SCHEME:``) must
    be a valid one: a wrong check character is ``invalid``, never a name search. A name must
    match a registered name exactly (a prefix is not an identification); near matches come
    back as candidates: by ``matcher`` when given (legal form, width, 繁简, pinyin, typos:
    risk/matching.py), else the names that start with the query.
    """
    text = query.strip()
    if not text:
        return Resolved(query, "invalid", message="empty query")
    upper = text.upper()
    if enterprise_id_valid_array([upper])[0] and len(upper) == 18:
        text = upper
    if enterprise_id_valid_array([text])[0]:
        return Resolved(query, "ok", enterprise_id=text)
    if len(text) == 18 and text.isascii() and text.isalnum():
        return Resolved(
            query,
            "invalid",
            message=f"{text!r} is not a valid USCC: wrong character or check character "
            "(GB 32100-2015)",
        )
    if _SCHEME.match(text):
        return Resolved(
            query, "invalid", message=f"{text!r} is not a valid external id (REG:, FOREIGN:, SRC:)"
        )
    found = store.search(text, limit=CANDIDATES + 1)
    exact = [ref for ref in found if ref.name == text]
    if len(exact) == 1:
        return Resolved(query, "ok", enterprise_id=exact[0].id)
    if len(exact) > 1:
        return Resolved(
            query,
            "ambiguous",
            message=f"{len(exact)} enterprises are registered as {text!r}: screen by USCC",
            candidates=tuple(exact[:CANDIDATES]),
        )
    if matcher is not None:
        near = matcher.match(text, CANDIDATES)
        found = [NodeRef("Enterprise", c.id, c.name) for c in near]
        listed = "; the nearest registered names are listed, best first"
    else:
        listed = "; enterprises whose name starts with it are listed"
    return Resolved(
        query,
        "not_found",
        message=f"no enterprise is registered as {text!r}" + (listed if found else ""),
        candidates=tuple(found[:CANDIDATES]),
    )


@dataclass(frozen=True)
class Applicant:
    """An applicant as a bank's file gives it: a name, and what else is known."""

    name: str
    uscc: str | None = None
    legal_representative: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class ApplicantMatch:
    """The registered enterprise an applicant is taken to be (None when not confident), and
    the candidates with their scores and reasons, best first."""

    matched: Candidate | None
    candidates: tuple[Candidate, ...]


ADDRESS_SAME = 85.0
"""Similarity (0-100) from which a given address is taken as the registered one."""


def match_applicant(index: SnapshotIndex, applicant: Applicant, limit: int) -> ApplicantMatch:
    """Match an applicant against the served snapshot's register (yente's ``/match`` in
    spirit).

    A valid USCC of a registered firm decides; otherwise the name is matched
    (risk/matching.py). A given legal representative or address confirms a candidate
    or speaks against it, in its reasons. A legal representative who is not the
    registered one vetoes a confident match. A person's name is never echoed.
    """
    uscc = (applicant.uscc or "").strip().upper()
    row = index.enterprise(uscc) if uscc and enterprise_id_valid_array([uscc])[0] else None
    if row is not None:
        name = str(index.names[row] or "")
        score = 100.0 if not applicant.name.strip() else _name_score(index, row, applicant.name)
        why = ["the USCC given"]
        if score < 100:
            why.append(f"the name given scores {score:g} against the registered one")
        found = _checked(index, row, Candidate(uscc, name, 100.0, tuple(why)), applicant)
        return ApplicantMatch(found if not _vetoed(found) else None, (found,))
    candidates = [
        _checked(index, index.enterprise(c.id), c, applicant)
        for c in index.matcher.match(applicant.name, limit)
    ]
    if uscc:
        candidates = [
            replace(c, reasons=(*c.reasons, "the USCC given is not registered")) for c in candidates
        ]
    taken = confident(candidates)
    if taken is not None and (_vetoed(taken) or uscc):
        taken = None
    return ApplicantMatch(taken, tuple(candidates))


_REP_DIFFERS = "legal representative given is not the registered one"


def _name_score(index: SnapshotIndex, row: int, name: str) -> float:
    registered = index.matcher.match(name, limit=CANDIDATES)
    return next((c.score for c in registered if c.id == index.ids[row]), 0.0)


def _checked(
    index: SnapshotIndex, row: int | None, candidate: Candidate, applicant: Applicant
) -> Candidate:
    """``candidate`` with what the applicant's legal representative and address say."""
    if row is None:
        return candidate
    why = list(candidate.reasons)
    if applicant.legal_representative:
        given = core_of(applicant.legal_representative).core
        reps = {core_of(str(index.names[p] or "")).core for p in index.legal_representatives(row)}
        reps.discard("")
        if reps:
            why.append(
                "legal representative given is the registered one"
                if given in reps
                else _REP_DIFFERS
            )
    if applicant.address:
        registered = index.address(row)
        if registered:
            similar = fuzz.ratio(core_of(applicant.address).core, core_of(registered).core)
            why.append(
                "address given is the registered one"
                if similar >= ADDRESS_SAME
                else "address given differs from the registered one"
            )
    return replace(candidate, reasons=tuple(why))


def _vetoed(candidate: Candidate) -> bool:
    return _REP_DIFFERS in candidate.reasons
