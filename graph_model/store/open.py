"""Open the configured store: the embedded LadybugDB database in the data home."""

from __future__ import annotations

from graph_model.settings import Settings
from graph_model.store.ladybug import LadybugStore


def open_store(settings: Settings, *, read_only: bool = False) -> LadybugStore:
    """The embedded store of ``settings.home``."""
    return LadybugStore(
        settings.embedded_store_path,
        read_only=read_only,
        buffer_pool_bytes=settings.embedded_buffer_pool_bytes,
    )
