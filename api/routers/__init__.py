"""Thin routers: check the caller, call ``risk/`` and ``graph_model/``, shape the answer."""
