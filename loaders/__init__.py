"""Readers for the data contract, validation, rejects, person identity and bulk upserts."""
