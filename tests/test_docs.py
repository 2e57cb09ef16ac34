"""Generated docs must match the code that generates them."""

from pathlib import Path

from graph_model.contract_doc import render_data_contract
from risk.features.catalog import load_catalog
from risk.features.doc import render_features_doc

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_data_contract_doc_is_current() -> None:
    committed = (DOCS / "data-contract.md").read_text(encoding="utf-8")
    assert committed == render_data_contract(), (
        "docs/data-contract.md is stale: run `creditgraph docs` and commit the result"
    )


def test_data_contract_names_every_file_and_column() -> None:
    from graph_model.domain import load_domain

    text = render_data_contract()
    domain = load_domain()
    for spec in (*domain.nodes, *domain.relations, *domain.records):
        assert f"`{spec.file}`" in text
        for f in spec.fields:
            assert f"| `{f.name}` |" in text


def test_features_doc_is_current() -> None:
    committed = (DOCS / "features.md").read_text(encoding="utf-8")
    assert committed == render_features_doc(), (
        "docs/features.md is stale: run `creditgraph docs` and commit the result"
    )


def test_features_doc_documents_every_feature() -> None:
    text = render_features_doc()
    for spec in load_catalog().features:
        assert f"| `{spec.name}` | {spec.definition}" in text
        assert spec.reason.replace("|", "\\|") in text
