"""PostgreSQL: hear the other replicas' changes through LISTEN on a connection of its own."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import make_url

from batch_service.feed.hub import CHANNEL, ChangeFeed, parse_payload

logger = logging.getLogger("batch_service.feed")

RECONNECT_SECONDS = 1.0
# Keepalives notice a server that vanished without closing the socket (a pulled cable).
CONNECT_OPTIONS = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5}


def libpq_url(database_url: str) -> str:
    """`postgresql+psycopg://…` as psycopg itself takes it."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def listen_forever(feed: ChangeFeed, database_url: str) -> None:
    """Deliver other replicas' changes; on a lost connection reconnect, and since changes
    may have been missed meanwhile, have every follower and the cache re-read."""
    import psycopg  # the `postgres` extra: a SQLite-only install never gets here

    conninfo = libpq_url(database_url)
    while True:
        try:
            connection = await psycopg.AsyncConnection.connect(conninfo, autocommit=True, **CONNECT_OPTIONS)
            async with connection as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                feed.lost_contact()  # anything before LISTEN took effect was not heard
                async for notice in conn.notifies():
                    replica, changes = parse_payload(notice.payload)
                    if replica != feed.replica:
                        feed.deliver_remote(changes)
        except (psycopg.Error, OSError) as error:
            logger.warning("change feed: lost PostgreSQL LISTEN connection (%s); reconnecting", error)
        await asyncio.sleep(RECONNECT_SECONDS)
