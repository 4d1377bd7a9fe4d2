"""Alembic environment: runs against the engine the caller hands over (bootstrap.migrate)."""

from __future__ import annotations

from alembic import context

from tijarat.bootstrap import create_database_engine

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # plain `alembic` command line: TIJARAT_DATABASE_URL decides
    from tijarat.settings import Settings

    engine = create_database_engine(Settings().database_url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
