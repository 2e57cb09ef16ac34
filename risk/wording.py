"""The product's words in Chinese and English: codes, reasons and evidence paths in words.

One place for the board, the API (``Accept-Language``) and the command line (``--language``):
the tables are data (``risk/wording.yaml``); this module reads them and puts stored values
into words:

- :func:`word` for a code of a kind (status, record kind, relation, warning type…);
- :func:`reason_sentence` for a model reason: the catalog's English sentence or the Chinese
  one, from the feature and its value (the stored sentence when the feature is unknown);
- :func:`evidence_text` for a reason's graph evidence, from its language-free steps
  (:class:`risk.model.evidence_steps.Evidence`), names as stored;
- :func:`warning_evidence` and :func:`warning_subject` for a warning's evidence path, which
  the warnings job writes in store ids and relation types (risk/supervision/warnings.py):
  relations become words and ids become names where a ``name`` lookup knows them (persons by
  name and role; a key only where no name is known);
- :func:`record_detail` for what a record says (the abnormal list's reason, a penalty's
  severity, an inspection's finding…), and :func:`plan_reason` for the reasons a sampling
  plan records (forced objects and recusals).

A code that the tables do not know is shown as it is stored.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from typing import Any, Literal

import yaml

from graph_model.regions import region_name
from risk.features.catalog import load_catalog

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")

NameOf = Callable[[str], str | None]
"""A name for a node id (enterprise id or person key), None when unknown."""

KINDS = (
    "status",
    "record_kind",
    "abnormal_reason",
    "severity",
    "finding",
    "commitment",
    "relation",
    "role",
    "warning_type",
    "warning_state",
    "selected",
    "contact",
    "phrase",
)
"""Tables of ``wording.yaml`` besides ``feature``."""


@functools.cache
def _tables() -> dict[str, dict[str, tuple[str, str]]]:
    raw = yaml.safe_load(resources.files("risk").joinpath("wording.yaml").read_text("utf-8"))
    return {
        kind: {str(code): (str(pair[0]), str(pair[1])) for code, pair in entries.items()}
        for kind, entries in raw.items()
    }


def table(kind: str) -> Mapping[str, tuple[str, str]]:
    """Code → (中文, English) of one kind; ``feature``: (Chinese sentence, Chinese name)."""
    return _tables()[kind]


def language(value: str | None, default: Language = "en") -> Language:
    """The language of a ``--language`` value or an ``Accept-Language`` header: the first
    of zh and en by preference (``zh-CN,zh;q=0.9,en;q=0.8`` → zh), else ``default``."""
    if not value:
        return default
    ranked: list[tuple[float, int, Language]] = []
    for k, part in enumerate(value.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        found = re.search(r"q=([0-9.]+)", params)
        if found:
            try:
                quality = float(found[1])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, k, "zh" if primary == "zh" else "en"))
    return min(ranked)[2] if ranked else default


def word(kind: str, code: object, lang: Language) -> str:
    """The word for ``code`` of ``kind`` in ``lang``; the code itself when unknown, "" for
    an empty one."""
    if code is None or code == "":
        return ""
    pair = _tables()[kind].get(str(code))
    if pair is None:
        return str(code)
    return pair[0] if lang == "zh" else pair[1]


def label(kind: str, code: object, lang: Language) -> str:
    """:func:`word` standing alone (a cell, a card, a legend): capitalised in English."""
    said = word(kind, code, lang)
    return said[:1].upper() + said[1:] if lang == "en" else said


def phrase(key: str, lang: Language, **values: object) -> str:
    """A phrase of ``wording.yaml`` in ``lang`` with its placeholders filled."""
    return word("phrase", key, lang).format(**values)


def percent(share: float | None, lang: Language) -> str:
    """A share as a percentage, or "share unknown"."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return phrase("share_unknown", lang)
    return f"{share:.0%}"


def money(amount: float | None, currency: str | None = "CNY") -> str:
    """An amount in full with thousands separators: ``¥1,200,000`` (other currencies by code)."""
    if amount is None or (isinstance(amount, float) and math.isnan(amount)):
        return "—"
    if currency in (None, "CNY"):
        return f"¥{amount:,.0f}"
    return f"{amount:,.0f} {currency}"


# -- model reasons ---------------------------------------------------------------------------


def reason_sentence(
    feature: str, value: float | None, lang: Language, stored: str | None = None
) -> str:
    """A reason's sentence in ``lang`` from its feature and value; ``stored`` (the sentence
    the scorer wrote) when the catalog or the tables do not know the feature."""
    try:
        spec = load_catalog().feature(feature)
    except KeyError:
        return stored or feature
    number = math.nan if value is None else float(value)
    if lang == "en":
        return spec.sentence(number)
    pair = _tables()["feature"].get(feature)
    if pair is None:
        return stored or spec.sentence(number)
    sentence, name = pair
    if math.isnan(number):
        return phrase("unknown", lang, name=name)
    return sentence.format(value=number)


def evidence_text(
    steps: Iterable[Any], lang: Language, stored: str = "", name: NameOf | None = None
) -> str:
    """A piece of evidence in words from its steps (``Evidence.steps``); the stored text when
    it has none (reasons stored before steps existed). ``name`` may name what the stored
    steps do not (a person filed without a name)."""
    parts = [_step(list(s), lang, name) for s in steps]
    return " ".join(p for p in parts if p) if parts else stored


def _node(step: list[Any], lang: Language, name: NameOf | None) -> str:
    node_id, stored = str(step[1]), str(step[2] or "")
    label = stored or (name(node_id) if name else None) or node_id
    if step[0] != "firm" or not step[3]:
        return label
    notes = phrase("notes_sep", lang).join(_note(n, lang) for n in step[3])
    return label + phrase("notes", lang, notes=notes)


def _note(note: list[Any], lang: Language) -> str:
    kind, detail, since = (str(x) for x in note)
    if kind == "abnormal_list":
        what = phrase("note_abnormal", lang, reason=word("abnormal_reason", detail, lang))
    elif kind == "penalty":
        what = phrase("note_penalty", lang, severity=word("severity", detail, lang))
    elif kind == "commitment":
        what = phrase("note_commitment", lang)
    else:
        what = word("record_kind", kind, lang)
    return phrase("note", lang, what=what, since=since)


def _step(step: list[Any], lang: Language, name: NameOf | None) -> str:
    kind = step[0]
    if kind in ("firm", "person"):
        return _node(step, lang, name)
    if kind == "roles":
        words = [word("role", code, lang) for code in step[1]]
        return phrase("roles", lang, roles=phrase("roles_sep", lang).join(words))
    if kind == "holds":
        share = step[2]
        if share is None:
            return phrase(f"holds_{step[1]}_bare", lang)
        return phrase(f"holds_{step[1]}", lang, share=percent(share, lang))
    if kind == "guarantees":
        _, way, amount, currency, defaulted = (*step, None, None, None)[:5]
        if amount is None and defaulted is None:
            return phrase(f"guarantees_{way}_bare", lang)
        said = money(amount, currency)
        if defaulted:
            said += phrase("defaulted", lang, date=defaulted)
        return phrase(f"guarantees_{way}", lang, amount=said)
    if kind == "chain":
        return phrase("chain", lang, share=percent(step[1], lang))
    if kind == "same":
        _, contact, value, nodes, more = step
        shown = phrase("list_sep", lang).join(_node(n, lang, name) for n in nodes)
        said = phrase("same_value", lang, value=value) if value else ""
        head = phrase("same", lang, contact=word("contact", contact, lang), value=said)
        tail = f" {phrase('more', lang, n=more)}" if more else ""
        return f"{head} {shown}{tail}"
    if kind in ("related", "listed_itself", "cross_holding", "guarantee_cycle", "mutual"):
        return phrase(kind, lang)
    return " ".join(str(x) for x in step)


# -- warnings ----------------------------------------------------------------------------------

_ARROW = re.compile(r" (-\[[A-Z_]+(?: [^\]]*)?\]->|<-\[[A-Z_]+\]-) ")
_GRADE = re.compile(r"^(\S+): grade (\S+) -> (\S+) \(score (\S+) -> (\S+)\)$")
_CHANGE = re.compile(r"^(\S+): (legal rep|controller) (.+) -> (.+)$")
_CHANGE_SUBJECTS = {
    "legal_rep": "legal_rep_of",
    "controller": "controller_of",
    "circle": "circle_by",
}
_DEFAULTED = re.compile(r"^defaulted (\d{4}-\d{2}-\d{2}): (.*)$")
_CIRCLE = re.compile(r"^circle of (\d+): (.*?)(?:, … \(\+(\d+)\))?$")


def _id(node_id: str, lang: Language, name: NameOf | None) -> str:
    """A node of a warning path: a record by its kind and number, a node by name."""
    kind, sep, number = node_id.partition(":")
    if sep and kind in _tables()["record_kind"]:
        return phrase("record", lang, kind=word("record_kind", kind, lang), number=number)
    return (name(node_id) if name else None) or node_id


def _arrow(arrow: str, lang: Language) -> str:
    inner = arrow.strip("-<>[]")
    rel_type, _, key = inner.partition(" ")
    said = word("relation", rel_type, lang)
    if key:
        said += " " + key.rsplit("|", 1)[-1]  # a guarantee's key: guarantor|guaranteed|contract
    return phrase("arrow_out" if arrow.startswith("-") else "arrow_in", lang, word=said)


def _path(text: str, lang: Language, name: NameOf | None) -> str:
    parts = _ARROW.split(text)
    out = []
    for k, part in enumerate(parts):
        out.append(_arrow(part, lang) if k % 2 else _id(part, lang, name))
    return " ".join(out)


def warning_evidence(text: str, lang: Language, name: NameOf | None = None) -> str:
    """A warning's evidence (store ids and relation types, e.g. ``A <-[LEGAL_REP]- P
    -[OFFICER]-> B -[HAS_RECORD]-> black_list:HM-1``) in words, ids named by ``name``."""
    segments = []
    for segment in text.split(" | "):
        if found := _GRADE.match(segment):
            firm, was, now, was_score, score = found.groups()
            segments.append(
                phrase(
                    "grade_change",
                    lang,
                    firm=_id(firm, lang, name),
                    was=was,
                    now=now,
                    was_score=was_score,
                    score=score,
                )
            )
        elif found := _CHANGE.match(segment):
            firm, what, was, now = found.groups()
            segments.append(
                phrase(
                    "rep_change" if what == "legal rep" else "controller_change",
                    lang,
                    firm=_id(firm, lang, name),
                    was=_parties(was, lang, name),
                    now=_parties(now, lang, name),
                )
            )
        elif found := _DEFAULTED.match(segment):
            when, path = found.groups()
            segments.append(f"{phrase('defaulted_on', lang, date=when)} {_path(path, lang, name)}")
        elif found := _CIRCLE.match(segment):
            size, members, more = found.groups()
            listed = phrase("list_sep", lang).join(
                _id(m.strip(), lang, name) for m in members.split(",") if m.strip()
            )
            if more:
                listed += phrase("circle_more", lang, n=more)
            segments.append(phrase("circle_of", lang, n=size, members=listed))
        else:
            segments.append(_path(segment, lang, name))
    return " | ".join(segments)


def _parties(text: str, lang: Language, name: NameOf | None) -> str:
    """``p1, p2`` or ``A 60%`` (a holder and its stake) or ``none`` in words."""
    if text == "none":
        return phrase("nobody", lang)
    said = []
    for party in text.split(", "):
        node, _, stake = party.partition(" ")
        said.append(" ".join(p for p in (_id(node, lang, name), stake) if p))
    return phrase("list_sep", lang).join(said)


def warning_subject(subject: str, lang: Language) -> str:
    """What raised a warning in words: a record, a guarantee contract, a grading date, or the
    date by which a firm's legal representative, controller or circle changed."""
    kind, sep, rest = subject.partition(":")
    if sep and kind == "GUARANTEES":
        return phrase("contract", lang, number=rest.rsplit("|", 1)[-1])
    if subject.startswith("grade@"):
        return phrase("grading_of", lang, date=subject.removeprefix("grade@"))
    what, at, day = subject.partition("@")
    if at and what in _CHANGE_SUBJECTS:
        return phrase(_CHANGE_SUBJECTS[what], lang, date=day)
    return _id(subject, lang, None)


# -- records and plans ---------------------------------------------------------------------------


def record_detail(record: Mapping[str, Any], lang: Language) -> str:
    """What one record says in words: the abnormal list's reason, a penalty's severity and
    grounds, an inspection's finding, whether a commitment was kept; other reasons as filed."""
    kind = record.get("kind")
    reason = record.get("reason")
    if kind == "abnormal_list":
        return word("abnormal_reason", reason, lang)
    if kind == "inspection":
        return word("finding", record.get("finding"), lang)
    if kind == "commitment":
        kept = record.get("kept")
        state = "unchecked" if kept is None else "kept" if kept else "broken"
        return word("commitment", state, lang)
    if kind == "penalty":
        severity = word("severity", record.get("severity"), lang)
        return " · ".join(p for p in (severity, str(reason or "")) if p)
    return str(reason or "")


_FORCED_FINDING = re.compile(r"^finding of an inspection within (\d+) months$")
_FORCED_EXTENSION = re.compile(r"^延伸检查: tied to black-listed (\S+) \((\d+) hops\)$")
_RECUSAL = re.compile(r"^(tied to )?(relative|former employer) (.+)$")
_REGION = re.compile(r"^same region (\S+)$")


def plan_reason(text: str, lang: Language, name: NameOf | None = None) -> str:
    """A reason a sampling plan recorded (why an object was forced in, why an inspector was
    recused) in ``lang``; complaints, leads and referrals as they were written."""
    if found := _FORCED_FINDING.match(text):
        return phrase("forced_finding", lang, months=found[1])
    if found := _FORCED_EXTENSION.match(text):
        return phrase("forced_extension", lang, firm=_id(found[1], lang, name), hops=found[2])
    if found := _REGION.match(text):
        return phrase("recusal_region", lang, region=region_name(found[1], lang))
    if found := _RECUSAL.match(text):
        tied, what, who = found.groups()
        key = "recusal_relative" if what == "relative" else "recusal_employer"
        said = phrase(key, lang, who=_id(who, lang, name))
        return phrase("recusal_tied", lang, why=said) if tied else said
    return text
