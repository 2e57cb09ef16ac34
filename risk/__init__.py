"""Risk analytics on snapshots: the graph feature catalog (``features``), the LightGBM model
with its grades, reasons and stored scores (``model``), screening, and the supervision
workflows (``supervision``: sampling plans, extension checks, warnings, watchlists)."""
