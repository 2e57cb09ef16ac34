"""The command line and, later, the HTTP API."""
