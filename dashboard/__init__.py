"""The Dash board (built in a later issue)."""
