"""Risk analytics: features, model, grades and supervision workflows (built in later issues)."""
