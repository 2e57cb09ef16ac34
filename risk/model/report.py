"""The evaluation report: one self-contained HTML page, the graph model beside its baseline.

Sections: what was trained on what; the headline metrics side by side with the lift the
graph gives; curves (ROC, precision–recall, inspection gains, calibration, score
distributions); bad rate per grade; per-date metrics and stability (PSI); the features
that weigh most; the rows and events per date. Numbers come from
:func:`risk.model.evaluation.evaluate`, curves from the predictions.
"""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from risk.features.catalog import load_catalog
from risk.model.charts import Series, bar_chart, line_chart
from risk.model.evaluation import Predictions, lift
from risk.model.labels import label_source_lines
from risk.model.train import BASELINE_MODEL, GRAPH_MODEL

TITLES = {GRAPH_MODEL: "graph model", BASELINE_MODEL: "no-graph baseline"}
METRICS = (
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC (average precision)"),
    ("ks", "KS"),
    ("recall_at_k", "recall in the top K (K = bad firms)"),
    ("brier_uncalibrated", "Brier score before calibration"),
    ("brier", "Brier score (calibrated)"),
)
TOP_FEATURES = 15

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
table { border-collapse: collapse; margin: 0.6em 0 1.4em; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
td.text { text-align: left; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.note { color: #555; font-size: 0.9em; }
"""


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return escape(str(value))


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _facts(rows: list[tuple[str, Any]]) -> str:
    """A two-column table of names and values, read left to right."""
    body = "".join(f"<tr><th>{escape(k)}</th><td class='text'>{_fmt(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _curves(preds: Predictions) -> list[str]:
    """ROC, precision–recall, inspection gains, calibration and score distributions."""
    test = preds.where(preds.window == "test")
    y = test.y
    roc, pr, gains, calib = [], [], [], []
    for i, (name, scores) in enumerate(test.models.items()):
        dashed = i > 0
        fpr, tpr, _ = roc_curve(y, scores.score)
        roc.append(Series(TITLES[name], fpr, tpr, dashed))
        precision, recall, _ = precision_recall_curve(y, scores.score)
        pr.append(Series(TITLES[name], recall, precision, dashed))
        order = np.argsort(-scores.score, kind="stable")
        found = np.cumsum(y[order]) / max(int(y.sum()), 1)
        share = np.arange(1, len(y) + 1) / max(len(y), 1)
        gains.append(Series(TITLES[name], share, found, dashed))
        groups = np.array_split(np.argsort(scores.score, kind="stable"), 10)
        mean = np.array([scores.score[g].mean() for g in groups if len(g)])
        seen = np.array([y[g].mean() for g in groups if len(g)])
        calib.append(Series(TITLES[name], mean, seen, dashed))
    top = max(float(np.max(s.x)) for s in calib) * 1.05 if calib else 1.0
    charts = [
        line_chart(
            "ROC curve",
            roc,
            "false positive rate",
            "true positive rate",
            y_range=(0.0, 1.0),
            diagonal=True,
        ),
        line_chart("Precision–recall", pr, "recall", "precision", y_range=(0.0, 1.0)),
        line_chart(
            "Inspection gains",
            gains,
            "share of firms inspected, worst scores first",
            "share of bad firms found",
            diagonal=True,
            y_range=(0.0, 1.0),
        ),
        line_chart(
            "Calibration (10 equal groups)",
            calib,
            "mean score",
            "observed bad rate",
            x_range=(0.0, top),
            y_range=(0.0, max(top, max(float(np.max(s.y)) for s in calib) * 1.05)),
            diagonal=True,
        ),
    ]
    for name in test.models:
        series = []
        for day in np.unique(preds.as_of):
            ordered = np.sort(preds.models[name].score[preds.as_of == day])
            share = np.arange(1, len(ordered) + 1) / len(ordered)
            series.append(Series(f"{np.datetime64(day, 'D')}", ordered, share))
        # The top half-percent would stretch the axis over an empty tail.
        right = float(np.quantile(preds.models[name].score, 0.995))
        charts.append(
            line_chart(
                f"Score distribution per date ({TITLES[name]})",
                series,
                "score (to the 99.5th percentile)",
                "share of firms at or below",
                x_range=(0.0, right),
                y_range=(0.0, 1.0),
            )
        )
    return charts


def render_report(manifest: dict[str, Any], evaluation: dict[str, Any], preds: Predictions) -> str:
    """The HTML report of one model's evaluation."""
    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>CreditGraph model {escape(manifest['model_version'])}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Model {escape(manifest['model_version'])}: evaluation</h1>",
        "<p class='note'>Synthetic data gives synthetic figures: read them as a check of the "
        "method, not as the accuracy of a real deployment.</p>",
        *_trained_on(manifest, evaluation),
        *_headline(evaluation, preds),
        *_grades(evaluation),
        *_per_date(evaluation),
        *_stability(evaluation),
        *_calibration(evaluation),
        *_importance(manifest),
        *_rows_per_date(manifest),
        "</body></html>",
    ]
    return "\n".join(out)


def _trained_on(manifest: dict[str, Any], evaluation: dict[str, Any]) -> list[str]:
    """The label, the windows, the rows and what reproduces the model."""
    label = manifest["label"]
    split = manifest["training_data"]["split"]
    return [
        "<h2>What was trained on what</h2>",
        _facts(
            [
                (
                    "label",
                    f"bad within {label['horizon_months']} months: " + ", ".join(label["events"]),
                ),
                *label_source_lines(label),
                ("data complete through", label["observed_through"]),
                ("training as-of dates", f"{split['train'][0]} … {split['train'][-1]}"),
                ("validation as-of dates", f"{split['valid'][0]} … {split['valid'][-1]}"),
                ("test as-of dates", ", ".join(evaluation["dates"])),
                ("test rows (firm × date)", evaluation["rows"]),
                (
                    "bad in the test rows",
                    f"{evaluation['positives']:,} ({evaluation['base_rate']:.2%})",
                ),
                ("training rows used", manifest["training_data"]["training_rows"]),
                ("seed, threads", f"{manifest['seed']}, {manifest['threads']}"),
                ("libraries", ", ".join(f"{k} {v}" for k, v in manifest["libraries"].items())),
                ("training-data fingerprint", manifest["training_data"]["fingerprint"][:16]),
            ]
        ),
        *_tested_labels(evaluation),
    ]


def _headline(evaluation: dict[str, Any], preds: Predictions) -> list[str]:
    """The metrics of both models side by side with the graph's lift, then the curves."""
    models = list(evaluation["models"])
    metrics = evaluation["models"]
    gain = lift(metrics[GRAPH_MODEL], metrics[BASELINE_MODEL])
    return [
        "<h2>Headline: the graph against the no-graph baseline (test window)</h2>",
        _table(
            ["metric", *(TITLES[m] for m in models), "graph − baseline"],
            [
                [title, *(metrics[m].get(key) for m in models), gain.get(key)]
                for key, title in METRICS
            ],
        ),
        "<div class='charts'>",
        *_curves(preds),
        "</div>",
    ]


def _grades(evaluation: dict[str, Any]) -> list[str]:
    """The grade policy, then each grade's share of firms and bad rate per model."""
    models = list(evaluation["models"])
    grades = evaluation["grades"]
    classes = [g["grade"] for g in grades[GRAPH_MODEL]]
    return [
        "<h2>Grades</h2>",
        f"<p>Policy: {escape(_policy_words(evaluation['policy']))}; cut on each test "
        "date separately.</p>",
        _table(
            ["grade", *(f"{TITLES[m]}: {c}" for m in models for c in ("share", "bad rate"))],
            [
                [c, *(v for m in models for v in (grades[m][i]["share"], grades[m][i]["bad_rate"]))]
                for i, c in enumerate(classes)
            ],
        ),
        bar_chart(
            "Observed bad rate per grade",
            classes,
            {TITLES[m]: [g["bad_rate"] for g in grades[m]] for m in models},
            "bad rate",
        ),
    ]


def _per_date(evaluation: dict[str, Any]) -> list[str]:
    """Rows, bad firms and both models' ROC-AUC and PR-AUC on each test date."""
    models = list(evaluation["models"])
    return [
        "<h2>Per test date</h2>",
        _table(
            [
                "as of",
                "rows",
                "bad",
                *(f"{TITLES[m]} {k}" for m in models for k in ("ROC-AUC", "PR-AUC")),
            ],
            [
                [
                    d["as_of"],
                    d[GRAPH_MODEL]["rows"],
                    d[GRAPH_MODEL]["positives"],
                    *(d[m].get(k) for m in models for k in ("roc_auc", "pr_auc")),
                ]
                for d in evaluation["by_date"]
            ],
        ),
    ]


def _stability(evaluation: dict[str, Any]) -> list[str]:
    """The population stability index of the scores from one test date to the next."""
    models = list(evaluation["models"])
    return [
        "<h2>Score stability (PSI)</h2>",
        "<p class='note'>Below 0.1 stable, 0.1–0.25 worth a look, above 0.25 shifted.</p>",
        _table(
            ["from", "to", *(TITLES[m] for m in models)],
            [
                [a["from"], a["to"], *(evaluation["psi"][m][i]["psi"] for m in models)]
                for i, a in enumerate(evaluation["psi"][GRAPH_MODEL])
            ],
        ),
    ]


def _calibration(evaluation: dict[str, Any]) -> list[str]:
    """Mean score against observed bad rate in ten equal groups, one table per model."""
    return [
        "<h2>Calibration tables</h2>",
        *(
            f"<h3>{TITLES[m]}</h3>"
            + _table(
                ["group", "mean score", "observed", "firms"],
                [
                    [i + 1, c["mean_score"], c["observed"], c["n"]]
                    for i, c in enumerate(evaluation["calibration"][m])
                ],
            )
            for m in evaluation["models"]
        ),
    ]


def _rows_per_date(manifest: dict[str, Any]) -> list[str]:
    """Firms, bad firms, rows used and events of every as-of date the model saw."""
    return [
        "<h2>Rows and bad outcomes per as-of date</h2>",
        _table(
            ["window", "as of", "firms", "bad", "rows used", "events (firms)"],
            [
                [
                    d["window"],
                    d["as_of"],
                    d["rows"],
                    d["positives"],
                    d["rows_used"],
                    ", ".join(f"{k} {v}" for k, v in d["events"].items()),
                ]
                for d in manifest["training_data"]["dates"]
            ],
        ),
    ]


def _tested_labels(evaluation: dict[str, Any]) -> list[str]:
    """Where the labels of dates tested after training came from (evaluate --as-of)."""
    tested = evaluation.get("labels")
    if not tested:
        return []
    return [
        "<h3>Labels of the tested dates</h3>",
        _facts(
            [
                (
                    "label",
                    f"bad within {tested['horizon_months']} months: " + ", ".join(tested["events"]),
                ),
                *label_source_lines(tested),
                ("data complete through", tested["observed_through"]),
            ]
        ),
    ]


def _policy_words(policy: dict[str, Any]) -> str:
    """The grade policy in words."""
    values = ", ".join(f"{k} {v:g}" for k, v in policy["classes"].items())
    kind = "share of firms by rank" if policy["method"] == "mix" else "lower probability bound"
    return f"{kind}: {values}"


def _importance(manifest: dict[str, Any]) -> list[str]:
    """The features with the largest share of the graph model's total gain."""
    catalog = load_catalog()
    gains = manifest["models"][GRAPH_MODEL]["importance_gain"]
    total = sum(gains.values()) or 1.0
    ranked = sorted(gains.items(), key=lambda kv: -kv[1])[:TOP_FEATURES]
    rows = []
    for name, g in ranked:
        spec = catalog.feature(name)
        rows.append([name, spec.family, "yes" if spec.graph else "no", g / total])
    return [
        "<h2>Features that weigh most (graph model, total gain)</h2>",
        _table(["feature", "family", "graph", "share of gain"], rows),
    ]
