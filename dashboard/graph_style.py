"""How the board's graphs look: the colours of grades, persons and relation types, the
Cytoscape stylesheet, the legend that says what they mean, and the height of a graph panel.
Which nodes and edges a graph has, and where they lie, is :mod:`dashboard.graph`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dash import html

from dashboard.graph import ROW, money_unit
from dashboard.i18n import Language, text
from risk.wording import label

GRADE_COLOURS = {"A": "#2e7d32", "B": "#9e9d24", "C": "#ef6c00", "D": "#c62828", "E": "#6a1b9a"}
"""Grade colours, shared by the charts and the graphs."""

UNGRADED = "#90a4ae"
PERSON = "#5c6bc0"
EDGE_COLOURS = {
    "LEGAL_REP": "#1565c0",
    "OFFICER": "#78909c",
    "HOLDS_SHARES": "#00897b",
    "GUARANTEES": "#8d6e63",
    "HAS_BRANCH": "#6d4c41",
}
"""Edge colour per relation type (guarantees also dashed)."""
SUSPECTED = "#e53935"
"""Suspected relations (shared address, phone, e-mail): dashed."""
DEFAULTED = "#d32f2f"
ON_PATH = "#8e24aa"

MIN_HEIGHT, MAX_HEIGHT = 520, 2400
"""Height of a graph panel in pixels: it grows with the rows of the graph, so that labels
stay near their size (scroll the page) rather than shrink to nothing when fitted."""


def graph_style(elements: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The style of a graph panel tall enough for ``elements`` at about zoom 1."""
    ys = [float(e["position"]["y"]) for e in elements if "position" in e]
    span = (max(ys) - min(ys)) if ys else 0.0
    height = int(min(MAX_HEIGHT, max(MIN_HEIGHT, span + 3 * ROW)))
    return {"width": "100%", "height": f"{height}px"}


# long: one declarative list of Cytoscape rules, in the order Cytoscape applies them (a later
# rule overrides an earlier one); split into functions, that order would be spread over them.
def stylesheet() -> list[dict[str, object]]:
    """Cytoscape styles: enterprises as round boxes coloured by grade, persons as circles,
    'and N more' as a dashed pill; labels beside the nodes on the outer side; edges coloured
    by relation type with their label at the outer end; highlighted paths thick purple.
    Labels smaller than 7 px on screen are hidden until one zooms in."""
    rules: list[dict[str, object]] = [
        {
            "selector": "node",
            "style": {
                "label": "data(label)",
                "font-size": 13,
                "min-zoomed-font-size": 7,
                "text-valign": "bottom",
                "text-margin-y": 4,
                "color": "#263238",
                "background-color": UNGRADED,
                "width": 22,
                "height": 22,
            },
        },
        {"selector": ".person", "style": {"background-color": PERSON, "shape": "ellipse"}},
        {
            "selector": ".name-only",
            "style": {"border-width": 2, "border-style": "dashed", "border-color": "#263238"},
        },
        {
            "selector": ".enterprise",
            "style": {"shape": "round-rectangle", "width": 30, "height": 22},
        },
        {
            "selector": ".side-right",
            "style": {
                "text-halign": "right",
                "text-valign": "center",
                "text-margin-x": 6,
                "text-margin-y": 0,
            },
        },
        {
            "selector": ".side-left",
            "style": {
                "text-halign": "left",
                "text-valign": "center",
                "text-margin-x": -6,
                "text-margin-y": 0,
            },
        },
        {
            "selector": ".side-below",
            "style": {
                "text-valign": "bottom",
                "text-halign": "center",
                "text-margin-y": 4,
                "text-background-color": "#ffffff",
                "text-background-opacity": 0.85,
            },
        },
        {
            "selector": ".center",
            "style": {
                "border-width": 4,
                "border-color": "#1565c0",
                "width": 40,
                "height": 30,
                "font-weight": "bold",
                "text-valign": "bottom",
                "text-halign": "center",
            },
        },
        {"selector": ".expanded", "style": {"border-width": 2, "border-color": "#37474f"}},
        {
            "selector": ".more",
            "style": {
                "shape": "round-rectangle",
                "background-color": "#eceff1",
                "border-style": "dashed",
                "border-width": 1,
                "border-color": "#78909c",
                "width": 70,
                "height": 18,
                "text-valign": "center",
                "text-halign": "center",
                "text-margin-x": 0,
                "text-margin-y": 0,
                "font-size": 10,
            },
        },
        {
            "selector": "edge",
            "style": {
                "font-size": 10,
                "min-zoomed-font-size": 7,
                "color": "#37474f",
                "curve-style": "bezier",
                "target-arrow-shape": "triangle",
                "arrow-scale": 0.8,
                "width": 1.5,
                "line-color": UNGRADED,
                "target-arrow-color": UNGRADED,
                "text-background-color": "#ffffff",
                "text-background-opacity": 0.85,
                "text-background-padding": 1,
                "source-label": "data(source_label)",
                "target-label": "data(target_label)",
                "source-text-offset": 70,
                "target-text-offset": 70,
            },
        },
        {
            "selector": "edge[label][!source_label][!target_label]",
            "style": {"label": "data(label)"},
        },
        *_edge_colour_rules(),
        {"selector": "edge.GUARANTEES", "style": {"line-style": "dashed"}},
        {
            "selector": "edge.SUSPECTED",
            "style": {
                "line-style": "dashed",
                "line-color": SUSPECTED,
                "target-arrow-shape": "none",
                "color": SUSPECTED,
            },
        },
        {"selector": "edge.more", "style": {"target-arrow-shape": "none", "line-style": "dotted"}},
        {
            "selector": "edge.on-path",
            "style": {"line-color": ON_PATH, "target-arrow-color": ON_PATH, "width": 4},
        },
        {"selector": "node.on-path", "style": {"border-width": 3, "border-color": ON_PATH}},
    ]
    rules.extend(
        {"selector": f".grade-{grade}", "style": {"background-color": colour}}
        for grade, colour in GRADE_COLOURS.items()
    )
    return rules


def _edge_colour_rules() -> list[dict[str, object]]:
    return [
        {"selector": f"edge.{t}", "style": {"line-color": c, "target-arrow-color": c}}
        for t, c in EDGE_COLOURS.items()
    ]


def legend(lang: Language, edges: Sequence[str] = (), extra: Sequence[str] = ()) -> html.Div:
    """What the colours and shapes of a graph mean: grades, persons, 'and N more', and the
    relation types in ``edges`` (``extra``: ``name_only``, ``suspected``, ``defaulted``,
    ``on_path``, ``money``)."""
    items: list[Any] = [
        _swatch(text("grade", lang) + " " + grade, GRADE_COLOURS[grade], "box")
        for grade in ("A", "B", "C", "D")
    ]
    items.append(_swatch(text("legend_ungraded", lang), UNGRADED, "box"))
    items.append(_swatch(text("legend_person", lang), PERSON, "dot"))
    if "name_only" in extra:
        items.append(_swatch(text("legend_name_only", lang), PERSON, "dot legend-name-only"))
    for rel_type in edges:
        said = label("relation", rel_type, lang)
        items.append(
            _swatch(said, EDGE_COLOURS[rel_type], "dash" if rel_type == "GUARANTEES" else "line")
        )
    if "suspected" in extra:
        items.append(_swatch(text("kind_suspected", lang), SUSPECTED, "dash"))
    if "defaulted" in extra:
        items.append(_swatch(text("legend_defaulted", lang), DEFAULTED, "line"))
    if "on_path" in extra:
        items.append(_swatch(text("legend_on_path", lang), ON_PATH, "line"))
    if "more" in extra:
        items.append(html.Span(text("legend_more", lang), className="legend-item legend-more"))
    if "money" in extra:
        items.append(
            html.Span(text("legend_money", lang, unit=money_unit(lang)), className="legend-item")
        )
    return html.Div(items, className="legend")


def _swatch(label: str, colour: str, shape: str) -> html.Span:
    return html.Span(
        [html.Span(className=f"legend-{shape}", style={"--swatch": colour}), label],
        className="legend-item",
    )
