"""Render ``docs/data-contract.md`` from the domain definition.

The document is generated, never edited by hand; a test fails when the
committed file differs from what this module renders.
"""

from __future__ import annotations

from graph_model.domain import (
    DATE_FORMS,
    MAX_CHARACTERS,
    Domain,
    FieldSpec,
    RecordSpec,
    RelationSpec,
    load_domain,
)
from graph_model.rates import COLUMNS as RATE_COLUMNS
from graph_model.rates import MAX_BYTES as RATES_MAX_BYTES

HEADER = "<!-- Generated from graph_model/domain.yaml by `creditgraph docs`. Do not edit. -->"


def _rule(f: FieldSpec) -> str:
    parts = []
    if f.values:
        parts.append("one of " + ", ".join(f"`{v}`" for v in f.values))
    if f.aliases:
        by_value: dict[str, list[str]] = {}
        for word, value in f.aliases:
            by_value.setdefault(value, []).append(word)
        parts.append(
            "also read: "
            + "; ".join(f"{'、'.join(words)} → `{v}`" for v, words in by_value.items())
        )
    if f.min is not None:
        parts.append(f"≥ {f.min:g}")
    if f.max is not None:
        parts.append(f"≤ {f.max:g}")
    if f.pattern:
        parts.append(f"matches `{f.pattern}`")
    if f.after:
        parts.append(f"not before `{f.after}`")
    if f.past:
        parts.append("not after the day of the load")
    if f.total_max is not None:
        parts.append(
            f"current rows (no `valid_to`) of one target in a file add up to at most "
            f"{f.total_max:g}, else each is loaded with a warning"
        )
    if f.requires:
        parts.append(f"only with `{f.requires}`")
    if f.check == "enterprise_id":
        parts.append("USCC check character verified, or an external id")
    if f.check == "person_id":
        parts.append("ID number check character verified, or another document scheme")
    if f.check == "person_source_id":
        parts.append("a person source id scheme (see Identifiers)")
    if f.default is not None:
        parts.append(f"default `{f.default}`")
    if f.percent_column:
        parts.append(f"or give `{f.percent_column}` in percent")
    if f.normalise:
        parts.append(f"normalised ({f.normalise})")
    if f.derived:
        parts.append("set by the loader; a column of this name in a file is ignored")
    return "; ".join(parts)


def _table(fields: tuple[FieldSpec, ...]) -> list[str]:
    lines = ["| column | type | required | rule | meaning |", "|---|---|---|---|---|"]
    for f in fields:
        required = "yes" if f.required else ""
        lines.append(f"| `{f.name}` | {f.type} | {required} | {_rule(f)} | {f.doc} |")
    return lines


def _record_rules(rec: RecordSpec) -> list[str]:
    rules = rec.rules
    lines = []
    if rules.publicity is not None:
        text = f"- **Publicity**: ends {rules.publicity} after `start`"
        if rules.extension is not None:
            text += f"; a later `end` (an extension) is kept for up to {rules.extension} more"
        else:
            text += "; a later `end` is cut there"
        lines.append(text + ".")
    elif rules.escalation is None:
        lines.append("- **Publicity**: no fixed window; the given `end` applies.")
    if rules.escalation is not None:
        lines.append(
            f"- **Publicity**: no fixed window, in force until cured (`end`). Still in force "
            f"{rules.escalation.after} after `start`, it is due to move to "
            f"`{rules.escalation.to}` (`creditgraph records due-escalations`)."
        )
    if rules.repair_wait is not None:
        lines.append(
            f"- **Credit repair**: `repaired_on` not earlier than {rules.repair_wait} "
            "after `start`."
        )
    return [*lines, *_record_identity(rec), ""]


def _substitute(r: RelationSpec) -> str:
    sub = r.key_substitute
    if sub is None:
        return ""
    return (
        f" Where `{sub.field}` is empty, the row is keyed by "
        + ", ".join(f"`{k}`" for k in (*r.key[: r.key.index(sub.field)], *sub.fields))
        + " instead."
    )


def _record_identity(rec: RecordSpec) -> list[str]:
    """The kind's key when it is not ``record_no`` alone, and whether it is a bad record."""
    lines = []
    if rec.key != ("record_no",):
        lines.append(f"- **Key**: the kind and {', '.join(f'`{k}`' for k in rec.key)}.")
    bad = str(rec.adverse) if rec.adverse is not None else "never (context only)"
    lines.append(f"- **Bad record** (counts against the enterprise): {bad}.")
    return lines


def render_data_contract(domain: Domain | None = None) -> str:
    """The data contract as Markdown."""
    d = domain or load_domain()
    out = [
        *_intro(),
        *_identifiers_section(d),
        *_nodes_section(d),
        *_relations_section(d),
        *_records_section(d),
        *_rates_section(),
    ]
    return "\n".join(out).rstrip() + "\n"


def _intro() -> list[str]:
    """The title, the files of a load, how rows are validated and what refuses a file."""
    return [
        HEADER,
        "",
        "# Data contract",
        "",
        "One file per table, named `<table>.csv` (UTF-8; GBK exports with `creditgraph load "
        "--encoding gb18030`; header row with these column names, "
        "empty cell = no value), `<table>.xlsx` (Excel, read like CSV: see below) or "
        "`<table>.parquet`, all in one folder. Dates are written "
        f"{DATE_FORMS}, months and days with or without a leading zero; a time after the date "
        "(`2025-06-30 00:00:00`) is dropped, and any other form rejects the row, naming the "
        "forms. Parquet date and timestamp columns and Excel date cells are dates already. "
        "A load may hold any subset of the tables; references may "
        "point to rows of the same load or to what the store already holds. Columns not listed "
        "are ignored and reported; an optional column left out keeps the stored value, except a "
        "column with a default, which takes its default.",
        "",
        "Every row is validated. A bad required or identifying value rejects its row: it goes "
        "to a reject file (`file, line, field, value, reason`) and the rest loads; rows that "
        "refer to a rejected row are counted under that root cause, not listed again. A bad "
        "optional value is emptied and its row loads, with a line in a warnings file of the "
        "same columns, as does a row that loads but looks wrong. Values are echoed as given, "
        "with ID numbers masked, line breaks escaped and long values cut. Nothing is written "
        "until every file has been validated. `creditgraph load` exits with 0 when every row "
        "loaded, 3 when it wrote the accepted rows but rejected others, and 2 when it refused "
        "and wrote nothing: a file could not be used, a file with rows would load none of "
        "them, or more than `--max-reject-rate` of the rows read (default 5 %; `--strict`: "
        "any) were rejected.",
        "",
        "A file that cannot be used refuses the whole load, naming its line (and field) where "
        "there is one: not a regular file (a folder, a named pipe, a link leading out of the "
        "input folder), changed or deleted after the load started, empty, not UTF-8 (a BOM and "
        "CRLF line ends are fine) nor in the encoding given, a NUL byte anywhere, a row with "
        "more or fewer fields than the header, a quote left open (a quoted value may span "
        "lines, but a line inside it may not hold a comma: that is how an unclosed quote "
        "swallows rows), a Parquet column of a nested or binary type, or missing required "
        "columns. A text value longer than "
        f"{MAX_CHARACTERS:,} characters, or holding a NUL byte, rejects its row.",
        "",
        "**Excel** (`.xlsx`): the sheet named as the table (`enterprises`, any case) is read, "
        "else the first visible sheet; the header is row 1, blank rows are skipped, and reports "
        "give Excel's row numbers as lines. Cells are read as the text the contract expects: "
        "text stays text (a USCC or ID number typed as text keeps every digit), a whole number "
        "has no `.0` (`5000000`), a date cell becomes a date, TRUE/FALSE `true`/`false`. "
        "Formulas are never evaluated: a formula cell gives the value Excel saved with it (a "
        "workbook written by a program that does not calculate has none, and the cell is "
        "empty). A number of 16 digits or more has lost digits in Excel and is read as Excel "
        "shows it (`3.30203E+17`), so an ID number typed as a number is rejected: format such "
        "columns as text. A workbook is refused when it is not an `.xlsx` package (an `.xls`, "
        "or a workbook with a password), links to other workbooks (break the links or paste "
        "the values), unpacks to more than 2 GiB or a part of it to more than 200 times its "
        "packed size (a zip bomb), has a value right of "
        "the header's last column, or a row beyond Excel's 1,048,576. Only one of "
        "`<table>.csv`, `.xlsx` and `.parquet` may be given for a table.",
        "",
    ]


def _identifiers_section(d: Domain) -> list[str]:
    """Enterprise ids (USCC and external schemes) and the ways a person is identified."""
    ids = d.identifiers
    out = [
        "## Identifiers",
        "",
        f"- **USCC**: {ids['uscc']}",
        f"- **External enterprise ids**: {ids['external']['description']}",
    ]
    for scheme, spec in ids["external"]["schemes"].items():
        out.append(f"  - `{scheme}`: {spec['meaning']} (pattern `{spec['pattern']}`)")
    out.append(f"- **Persons**: {ids['person']}")
    for scheme, pattern in ids["person_schemes"].items():
        out.append(f"  - `{scheme}`: pattern `{pattern}`")
    source = ids["person_source"]
    schemes = ", ".join(f"`{s}`" for s in source["schemes"])
    out.append(f"- **Persons by source id**: {source['description']} Schemes: {schemes}.")
    out.append(f"- **Persons by name only**: {ids['person_name']}")
    return [*out, ""]


def _nodes_section(d: Domain) -> list[str]:
    """One part per node type: its file, description, key and columns."""
    out = ["## Nodes", ""]
    for n in d.nodes:
        key = f"`{n.key}`" + (f", else `{n.alternate_key}`" if n.alternate_key else "")
        out += [f"### {n.label} — `{n.file}`", "", n.description, "", f"Key: {key}.", ""]
        out += [*_table(n.fields), ""]
    return out


def _relations_section(d: Domain) -> list[str]:
    """Validity and updates of relations, then one part per relation type."""
    out = [
        "## Relations",
        "",
        "Every relation has `valid_from` and `valid_to` (empty = open). Loading a row whose key "
        "exists updates that relation: set `valid_to` to close it (a holding sold). A relation "
        "of a party with itself is rejected, unless noted below (then it loads with a "
        "warning).",
        "",
    ]
    for r in d.relations:
        itself = (
            f" With itself: {r.self_relation}; loaded with a warning." if r.self_relation else ""
        )
        ref = r.source.ref + (f" (by `{r.source.type_field}`)" if r.source.type_field else "")
        if r.source.name_field:
            ref += (
                f"; a person known by name only by `{r.source.name_field}`, a row giving "
                "one of the two"
            )
        out += [
            f"### {r.type} — `{r.file}`",
            "",
            r.description,
            "",
            f"From `{r.source.field}` ({ref}) to `{r.target.field}` ({r.target.ref}). "
            f"Key: {', '.join(f'`{k}`' for k in r.key)}." + _substitute(r) + itself,
            "",
            *_table(r.fields),
            "",
        ]
    return out


def _records_section(d: Domain) -> list[str]:
    """What records share (key, bad records, windows, repair), then one part per kind."""
    out = [
        "## Records",
        "",
        "Records on enterprises share `record_no`, `enterprise_id`, `start` and `end`; "
        "the key is the kind and `record_no` (with `enterprise_id` where a kind says so). "
        "A *bad record* counts against its enterprise in features, warnings and evidence; "
        "each kind says which of its records are bad, and a *listed* enterprise has an entry "
        "in force on a list kind.",
        "",
        "Each kind has its window (below, from DOMAIN.md). Snapshots, features, grades and "
        "warnings use the **effective end**: the given `end`, cut at the end of the window. "
        "Periods count whole calendar months from `start`. To repair a record or to record an "
        "objection, load the record again with `repaired_on`, or `disputed_on` "
        "(later `dispute_resolved_on` and `dispute_upheld`): a repaired record, and one whose "
        "objection was upheld, leaves every snapshot from that day; a disputed record still "
        "counts and is marked (docs/supervision.md).",
        "",
    ]
    for rec in d.records:
        out += [f"### {rec.kind} — `{rec.file}`", "", rec.description, ""]
        out += [*_record_rules(rec), *_table(rec.fields), ""]
    return out


def _rates_section() -> list[str]:
    """The data home's currency rate table (graph_model/rates.py)."""
    lines = [
        "## Currency rates — `rates.csv` in the data home",
        "",
        "Guarantee amounts load in their own currency (`currency` of GUARANTEES, CNY when "
        "empty) and keep it: the board's graphs, the API's circle guarantees and the reasons' "
        "evidence show each amount as given (`1,000,000 USD`). Wherever amounts add up (the "
        "guarantee features of docs/features.md, circle totals and their order on the board "
        "and in the API, DebtRank stress) they are converted to CNY with the rate table "
        "`$CREDITGRAPH_HOME/rates.csv`:",
        "",
        "```csv",
        "currency,cny_per_unit,as_of,source",
        "USD,7.1,2025-12-31,example: name where the rate comes from",
        "```",
        "",
        "| column | type | rule | meaning |",
        "|---|---|---|---|",
        *(f"| `{name}` | {kind} | {rule} | {doc} |" for name, kind, rule, doc in RATE_COLUMNS),
        "",
        "- **Which rate**: a day uses the latest rate of the currency dated on or before it; a "
        "day before the currency's first rate uses that first rate. CNY is always 1.",
        "- **Without a rate** an amount's CNY value is unknown, never 0: features that add it "
        "up are unknown (NaN, which the model reads as missing), a circle's `total_amount` "
        "adds up what converts and `unconverted` lists the rest per currency, in that "
        "currency (the board: `+ 1,000,000 USD not converted`). A data home without the file "
        "converts nothing but CNY.",
        "- **Checked like any input**: UTF-8 (a BOM is fine), at most "
        f"{RATES_MAX_BYTES:,} bytes, exactly these columns, one rate per currency and date. "
        "A bad file is refused with its line, field and reason: commands that convert stop, "
        "the board does not start, and the API serves no snapshot until it is fixed.",
        "- **Updating**: add a row per currency and date (keep the old ones: earlier dates "
        "keep converting as they did). Then compute again what was converted with the old "
        "table: `creditgraph score --as-of …` (features cached with other rates are "
        "recomputed), and restart the board and the API. A model trained with other rates "
        "keeps working; train again to learn from the new values.",
        "- **The demo** (`creditgraph demo`) writes one illustrative USD rate dated the last "
        "day of its data, its source saying so; a `rates.csv` already in the data home stays.",
    ]
    return lines
