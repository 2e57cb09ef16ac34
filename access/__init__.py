"""Who may ask and what was asked, shared by the HTTP API and the board: API keys and their
roles (``keyring``), the settings that carry the keys (``settings``), and the append-only
audit log (``audit``). Below both faces, so that neither imports the other."""
