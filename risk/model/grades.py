"""Grades: risk classes A/B/C/D (or any number of classes) cut from the continuous score.

Two ways to cut, both configuration (``grade_method``):

- ``mix`` (default): each class takes a share of the scored enterprises by score rank on
  the scoring date, lowest risk first. The default A 70 %, B 22 %, C 6 %, D 2 % is the
  typical city mix of SAMR's classification (docs: DOMAIN). The classes keep their sizes
  whatever the level of risk, like a curve.
- ``bands``: fixed probability bands; each class starts at its lower bound. Class sizes
  then follow the level of risk.

Enterprises with equal scores always get the same class: at a cut, ties go to the milder
class, so the mix is met up to ties.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from risk.model.errors import ModelError


@dataclass(frozen=True)
class GradePolicy:
    """Class names (lowest risk first) and how scores are cut into them."""

    method: str
    classes: tuple[str, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.method not in ("mix", "bands"):
            raise ModelError(f"grade method must be 'mix' or 'bands', not {self.method!r}")
        if len(self.classes) < 2 or len(self.classes) != len(self.values):
            raise ModelError("grades need at least two classes, each with a value")
        if len(set(self.classes)) != len(self.classes):
            raise ModelError(f"grade classes repeat a name: {self.classes}")
        if self.method == "mix":
            if min(self.values) < 0 or abs(sum(self.values) - 1.0) > 1e-6:
                raise ModelError(f"grade mix shares must be ≥ 0 and sum to 1, got {self.values}")
        elif self.values[0] != 0.0 or any(
            b <= a for a, b in zip(self.values, self.values[1:], strict=False)
        ):
            raise ModelError(
                "grade bands are the lower probability bound of each class: the first must be "
                f"0 and they must rise strictly, got {self.values}"
            )
        elif self.values[-1] >= 1.0:
            raise ModelError(f"grade bands must stay below 1, got {self.values}")

    @classmethod
    def of(cls, method: str, mix: dict[str, float], bands: dict[str, float]) -> GradePolicy:
        """The policy from the settings' method, mix and bands."""
        chosen = mix if method == "mix" else bands
        return cls(method, tuple(chosen), tuple(float(v) for v in chosen.values()))

    def cutoffs(self, scores: np.ndarray) -> tuple[float, ...]:
        """Score above which each class after the first starts (a score must exceed it).

        For ``mix`` they depend on the scores being graded; for ``bands`` they are the bands.
        """
        if self.method == "bands":
            # A band's lower bound belongs to it: the cut sits just below the bound.
            return tuple(float(np.nextafter(b, -np.inf)) for b in self.values[1:])
        ordered = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
        n = len(ordered)
        out = []
        for i in range(1, len(self.classes)):
            at_least = round(sum(self.values[i:]) * n)
            # Everyone strictly above the first enterprise left out is in: ties go milder.
            out.append(float(ordered[at_least]) if at_least < n else -np.inf)
        return tuple(out)

    def assign(self, scores: np.ndarray) -> tuple[np.ndarray, tuple[float, ...]]:
        """The class of each score, and the cut-offs used."""
        cuts = self.cutoffs(scores)
        level = np.zeros(len(scores), dtype=np.int64)
        for cut in cuts:
            level += np.asarray(scores) > cut
        return np.asarray(self.classes, dtype=object)[level], cuts

    def to_dict(self) -> dict[str, object]:
        return {"method": self.method, "classes": dict(zip(self.classes, self.values, strict=True))}
