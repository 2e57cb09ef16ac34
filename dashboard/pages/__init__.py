"""The board's pages: each a ``render`` function of the data manager, the date and the
language, plain functions for its interactions, and ``register`` wiring them as callbacks."""
