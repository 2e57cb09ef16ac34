"""Scale benchmarks; figures go to docs/benchmarks.md."""
