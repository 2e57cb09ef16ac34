"""Reasons: why an enterprise scored as it did, in sentences a regulator can read.

LightGBM splits each score's log-odds exactly into one contribution per feature plus a
constant (``pred_contrib``, TreeSHAP). An enterprise's reasons are its ``k`` largest
*positive* contributions — the features that pushed its risk up most — each shown with the
feature catalog's sentence for its value ("Its legal representative leads 3 other firm(s)
with bad records") and, for graph features, the evidence behind the value (see
``evidence``). Contributions are in log-odds of the uncalibrated model; calibration is
increasing, so the order and the sign of the reasons hold for the calibrated score too.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from risk.features.catalog import load_catalog
from risk.model.evidence import EvidenceFinder
from risk.model.evidence_steps import Evidence
from risk.model.train import FittedModel


@dataclass(frozen=True)
class Reason:
    """One feature that raised the score: its value, contribution, sentence and evidence."""

    feature: str
    value: float | None
    contribution: float
    sentence: str
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "feature": self.feature,
            "value": self.value,
            "contribution": round(self.contribution, 4),
            "sentence": self.sentence,
            "evidence": [e.to_dict() for e in self.evidence],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reason:
        return cls(
            feature=data["feature"],
            value=data["value"],
            contribution=data["contribution"],
            sentence=data["sentence"],
            evidence=tuple(
                Evidence(e["text"], tuple(e["nodes"]), tuple(e.get("steps", ())))
                for e in data["evidence"]
            ),
        )


def reasons_json(reasons: list[Reason]) -> str:
    """The reasons of one enterprise as a JSON array (stored with its score)."""
    return json.dumps([r.to_dict() for r in reasons], ensure_ascii=False)


def parse_reasons(text: str) -> list[Reason]:
    """Reasons stored by :func:`reasons_json`."""
    return [Reason.from_dict(item) for item in json.loads(text)]


def explain(
    model: FittedModel,
    x: np.ndarray,
    rows: np.ndarray,
    k: int,
    finder: EvidenceFinder | None = None,
) -> list[list[Reason]]:
    """Top ``k`` reasons of each of ``rows``.

    ``x`` holds the model's feature columns for the same rows, in order; ``rows`` are the
    enterprises' snapshot rows, which the evidence finder needs. Evidence is searched only
    for graph features and only when a finder is given.
    """
    if len(x) == 0:
        return []
    specs = {f.name: f for f in load_catalog().features}
    contrib = np.asarray(model.booster.predict(x, pred_contrib=True))[:, :-1]
    top = np.argsort(-contrib, axis=1, kind="stable")[:, :k]
    out = []
    for i, row in enumerate(rows):
        reasons = []
        for j in top[i]:
            c = float(contrib[i, j])
            if c <= 0:
                break
            name = model.features[j]
            spec = specs[name]
            value = float(x[i, j])
            evidence = finder.find(name, int(row)) if finder is not None and spec.graph else ()
            reasons.append(
                Reason(
                    feature=name,
                    value=None if math.isnan(value) else value,
                    contribution=c,
                    sentence=spec.sentence(value),
                    evidence=evidence,
                )
            )
        out.append(reasons)
    return out
