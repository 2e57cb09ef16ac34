"""The command line, ``creditgraph`` (``cli.app``): load, snapshot, features, train, score,
plans, warnings and watchlists on the data home, and the API server and the board; one module
per group of commands (``data``, ``model``, ``supervision``, ``serve``), what they share in
``common``, assembled in ``app``."""
