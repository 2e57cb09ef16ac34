"""Graph stores: the ``GraphStore`` protocol and its backends."""
