"""The demo city's currency rate table: its foreign guarantees are in USD
(``loaders/generator/guarantees.py`` draws 2 % of them so), converted at an illustrative rate
that says so in its source. Real data take the rates of their own source (docs/data-contract.md,
"Currency rates")."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from graph_model.rates import Rate, write_rates

DEMO_USD_RATE = 7.1
"""CNY per USD in the demo's table."""

DEMO_RATE_SOURCE = (
    "creditgraph demo: an illustrative rate for the synthetic city, not an official quote "
    "(real data: the CFETS central parity of the day, 人民币汇率中间价)"
)


def write_demo_rates(path: Path, day: date) -> bool:
    """Write the demo's rate table to ``path``, dated ``day`` (the last day of its data);
    a table already there is the data home's own and stays. True when written."""
    if path.exists():
        return False
    write_rates(path, [Rate("USD", DEMO_USD_RATE, day, DEMO_RATE_SOURCE)])
    return True
