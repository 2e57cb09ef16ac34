"""The CreditGraph domain (``domain.yaml`` read through ``domain``), identifiers, codes of
regions and industries, currency rates, the error root, settings, the store protocol and its
backends (``store``), snapshots, and the bounded breadth-first search over their arrays
(``walk``)."""
