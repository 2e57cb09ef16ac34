"""Open the configured store: Neo4j when ``CREDITGRAPH_NEO4J_URI`` is set, else the embedded
LadybugDB database in the data home."""

from __future__ import annotations

from urllib.parse import urlsplit

from neo4j import GraphDatabase, NotificationDisabledClassification
from neo4j.exceptions import ConfigurationError

from graph_model.settings import Settings
from graph_model.store.ladybug import LadybugStore
from graph_model.store.neo4j import Neo4jStore, redact_uri
from graph_model.store.protocol import GraphStore, StoreError, refuse_unfinished_load

# Bolt, routed (neo4j) or to one server (bolt), plain or TLS. The driver's HTTP support is a
# preview it warns about, and the store relies on Bolt sessions.
_SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")


def open_store(
    settings: Settings, *, read_only: bool = False, unfinished_ok: bool = False
) -> GraphStore:
    """The store the settings name, ready to use.

    For Neo4j the driver is made here and handed over to the store, which closes it on
    ``close()``. The server is reached (and logged into) at once, so a wrong URI or
    password fails here with a message saying what to check; a read-only store also
    checks that the database holds CreditGraph data of this layout, and, unless
    ``unfinished_ok``, that no load stopped half way through writing to it.
    """
    store: GraphStore
    if settings.neo4j_uri:
        store = _open_neo4j(settings, settings.neo4j_uri, read_only)
        location = f"Neo4j at {redact_uri(settings.neo4j_uri)}"
    else:
        store = LadybugStore(
            settings.embedded_store_path,
            read_only=read_only,
            buffer_pool_bytes=settings.embedded_buffer_pool_bytes,
        )
        location = "the embedded store"
    if read_only and not unfinished_ok:
        try:
            refuse_unfinished_load(store, location)
        except BaseException:
            store.close()
            raise
    return store


def _open_neo4j(settings: Settings, uri: str, read_only: bool) -> Neo4jStore:
    refused = StoreError(
        f"CREDITGRAPH_NEO4J_URI {redact_uri(uri)!r} is not a Neo4j Bolt URI: write "
        "neo4j://host:7687 (neo4j+s:// for TLS, bolt:// for a single server), without user "
        "or password (those go in CREDITGRAPH_NEO4J_USER and CREDITGRAPH_NEO4J_PASSWORD)"
    )
    if urlsplit(uri).scheme not in _SCHEMES:
        raise refused
    auth = (settings.neo4j_user, settings.neo4j_password.get_secret_value())
    try:
        # Neo4j stores no nulls, so a property no row has set yet is "unrecognized" to the
        # server and every export naming it would log a warning: not worth the user's eye.
        driver = GraphDatabase.driver(
            uri,
            auth=auth,
            notifications_disabled_classifications=[
                NotificationDisabledClassification.UNRECOGNIZED
            ],
        )
    except (ConfigurationError, ValueError):
        # The driver's own message repeats the URI, password included if it holds one.
        raise refused from None
    store = Neo4jStore(
        driver,
        database=settings.neo4j_database,
        uri=uri,
        write_batch_rows=settings.neo4j_write_batch_rows,
        read_only=read_only,
        owns_driver=True,
    )
    try:
        store.verify_connectivity()
        if read_only:
            store.ensure_schema()
    except BaseException:
        store.close()
        raise
    return store
