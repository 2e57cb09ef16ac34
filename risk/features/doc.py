"""Render docs/features.md from the feature catalog (``creditgraph docs`` writes it)."""

from __future__ import annotations

from graph_model.domain import load_domain
from risk.features.catalog import Catalog, load_catalog
from risk.features.context import HUB_PERSON_CAP, LISTING_KINDS, MAX_CHAIN
from risk.features.guarantees import MAX_CYCLE_LENGTH
from risk.features.ownership import BENEFICIAL_OWNER_SHARE, MAX_TERMS, PRUNE_BELOW
from risk.features.suspected import RARE_GROUP


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_features_doc() -> str:
    """The features reference: vocabulary, bounds, then one table per family."""
    catalog = load_catalog()
    lines = [*_intro(), *_vocabulary(), *_bounds(), *_families(catalog)]
    return "\n".join(lines) + "\n"


def _intro() -> list[str]:
    """The title, what a row and a column are, and the commands that compute them."""
    return [
        "# Features",
        "",
        "<!-- Generated from risk/features/catalog.yaml by `creditgraph docs`; do not edit. -->",
        "",
        "One row per enterprise of a snapshot, one column per feature below, in this order.",
        "Features see only the snapshot: relations in force on the as-of date, records started",
        "by then, and no date after it. Unknown values are NaN (missing to the model, never 0).",
        "",
        "```bash",
        "creditgraph snapshot --as-of 2025-06-30   # if not taken yet",
        "creditgraph features --as-of 2025-06-30   # → features/2025-06-30.parquet in the home",
        "```",
        "",
    ]


def _vocabulary() -> list[str]:
    """The words the definitions use: active, listed, bad record, related, identified."""
    return [
        "## Vocabulary",
        "",
        "- **active record**: started on or before the as-of date and not ended by then.",
        f"- **listed**: an active record of kind {', '.join(f'`{k}`' for k in LISTING_KINDS)}.",
        "- **bad record**: an active record that counts against its enterprise, by the",
        "  `adverse` rule of its kind in graph_model/domain.yaml:",
        *(f"  - `{spec.kind}`: {spec.adverse}" for spec in load_domain().adverse_kinds),
        "- **related** (1 hop): two enterprises sharing a legal representative, officer or person",
        "  shareholder, or tied by a shareholding or a guarantee between them. Hops are counted",
        "  between enterprises. A head office and its branches are not related by that tie:",
        "  the branch features (`branches_bad`, `head_office_listed`) say what passes between",
        "  them.",
        "- **identified person**: a person keyed by an ID number or by a source id (`identity`",
        "  `id_number` or `source_id`, data-contract.md). A person known by name only (`name`)",
        "  is one enterprise's: a shared name is no shared person (同名同姓), so such a person",
        "  never ties two firms. They count among their own firm's people (`officers`,",
        "  `shareholders`), but no feature that follows people to *other* firms goes through",
        "  them: the people family's other firms, the related-enterprise graph (contagion,",
        "  communities, warnings), the all-relations graph of `listed_pagerank`, extension",
        "  checks, recusal and evidence paths. A firm whose people are known by name only thus",
        "  reads 0 on those features: unknown ties, not proven absence.",
        "",
    ]


def _bounds() -> list[str]:
    """The bound of every graph algorithm and what it costs in accuracy."""
    return [
        "## Bounds",
        "",
        "Every graph algorithm is bounded; these are the bounds and what they cost in accuracy.",
        "",
        f"- Persons tied to more than {HUB_PERSON_CAP} firms (agents, nominees) do not relate",
        "  those firms to each other in the related-enterprise graph; their own counts are kept.",
        f"- Values (address, phone, e-mail) shared by more than {RARE_GROUP} firms form no",
        "  suspected pairs; `firms_at_address` reports the crowd instead.",
        f"- Integrated ownership: at most {MAX_TERMS} terms of the series, path products below",
        f"  {PRUNE_BELOW:g} dropped; beneficial owners at ≥ {BENEFICIAL_OWNER_SHARE:.0%}.",
        f"- Guarantee cycles searched up to {MAX_CYCLE_LENGTH} links. Cycles are never",
        "  enumerated: circles are strongly connected components (linear time) and each",
        "  member gets one shortest cycle, walked in bounded chunks, so the count of results is",
        "  one per member. There is no wall-clock budget on purpose: a feature that depends on",
        "  how busy the machine was could not be reproduced.",
        "- Guarantee amounts are summed in CNY, other currencies converted with the data",
        '  home\'s `rates.csv` (data-contract.md, "Currency rates"). An amount in a currency',
        "  without a rate is unknown in CNY, never 0: a sum that holds one is unknown (NaN),",
        "  and so is a DebtRank distress that depends on it. Counts count every guarantee.",
        "- Ownership depth and guarantee chains are measured between strongly connected",
        "  components (a cross-holding or a circle counts as one step), so they are exact up",
        f"  to {MAX_CHAIN} links.",
        "",
    ]


def _families(catalog: Catalog) -> list[str]:
    """The table of families, then one table of features per family."""
    lines = [
        "## Families",
        "",
        "| family | features | uses the graph | cost |",
        "|---|---:|---|---|",
    ]
    for fam in catalog.families:
        graph = "yes" if fam.graph else "no (the model's no-graph baseline)"
        lines.append(f"| {fam.title} | {len(fam.features)} | {graph} | {_cell(fam.cost)} |")
    for fam in catalog.families:
        lines += [
            "",
            f"## {fam.title} (`{fam.name}`)",
            "",
            f"Cost: {fam.cost}.",
            "",
            "| feature | definition | why it matters | unit |",
            "|---|---|---|---|",
        ]
        for f in fam.features:
            lines.append(
                f"| `{f.name}` | {_cell(f.definition)} | {_cell(f.reason)} | {_cell(f.unit)} |"
            )
    return lines
