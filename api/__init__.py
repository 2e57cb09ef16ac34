"""The HTTP API (FastAPI): routers by user task, request and response models checked at the
edge, roles per route, errors as one JSON body; served by ``creditgraph serve``."""
