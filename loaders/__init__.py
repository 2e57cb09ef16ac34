"""Data in: reading contract files (CSV, Excel, Parquet), validation with rejects and
warnings, person identity, idempotent batched upserts, and the synthetic demo city."""
