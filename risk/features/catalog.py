"""The feature catalog, read from ``catalog.yaml``.

The YAML file lists every feature once: family, name, definition, reason, unit,
cost and the sentence a reason shows. The family code must produce exactly the
catalog's columns, the docs are rendered from it, and the model explains scores
with its sentences.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from importlib import resources

import yaml


@dataclass(frozen=True)
class FeatureSpec:
    """One column of the feature matrix."""

    name: str
    family: str
    definition: str
    reason: str
    unit: str
    cost: str
    explain: str
    graph: bool

    def sentence(self, value: float) -> str:
        """The feature's reason sentence for one enterprise's value."""
        if math.isnan(value):
            return f"{self.definition}: unknown"
        return self.explain.format(value=value)


@dataclass(frozen=True)
class FamilySpec:
    """A family of features computed together."""

    name: str
    title: str
    graph: bool
    cost: str
    features: tuple[FeatureSpec, ...]


@dataclass(frozen=True)
class Catalog:
    """All families in matrix order."""

    families: tuple[FamilySpec, ...]

    @property
    def features(self) -> tuple[FeatureSpec, ...]:
        return tuple(f for fam in self.families for f in fam.features)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def feature(self, name: str) -> FeatureSpec:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(f"no feature {name!r} in the catalog")

    def family(self, name: str) -> FamilySpec:
        for fam in self.families:
            if fam.name == name:
                return fam
        raise KeyError(f"no feature family {name!r} in the catalog")


@functools.cache
def load_catalog() -> Catalog:
    """Read ``catalog.yaml`` once; the result is immutable."""
    text = resources.files("risk.features").joinpath("catalog.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    families = []
    for fam_name, fam in raw["families"].items():
        features = tuple(
            FeatureSpec(
                name=name,
                family=fam_name,
                definition=spec["definition"],
                reason=spec["reason"],
                unit=spec["unit"],
                cost=spec.get("cost", fam["cost"]),
                explain=spec["explain"],
                graph=fam["graph"],
            )
            for name, spec in fam["features"].items()
        )
        families.append(
            FamilySpec(
                name=fam_name,
                title=fam["title"],
                graph=fam["graph"],
                cost=fam["cost"],
                features=features,
            )
        )
    catalog = Catalog(tuple(families))
    if len(set(catalog.names)) != len(catalog.names):
        raise ValueError("catalog.yaml names a feature twice")
    return catalog
