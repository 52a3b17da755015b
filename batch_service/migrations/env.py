"""Alembic environment: migrations run on the connection the service hands over at start-up.

For the command line (`alembic -x url=sqlite:///batch.db upgrade head`) a URL works too.
"""

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

from batch_service import models  # noqa: F401  (registers the tables on SQLModel.metadata)

target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    url = context.get_x_argument(as_dictionary=True)["url"]
    with create_engine(url).begin() as own_connection:
        _run_on(own_connection)


def _run_on(connection: object) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
