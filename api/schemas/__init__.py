"""Request and response models of the HTTP API, one module per area, with the checks made at
the edge in :mod:`api.schemas.common`. Every field has a description and examples where it
helps; the OpenAPI document (``/openapi.json``) is generated from these models."""
