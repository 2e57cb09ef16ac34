"""The CreditGraph domain: node and relation types, identifiers, the store protocol, backends."""
