"""The Alembic migrations create exactly the tables the models declare."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from pubdata import models  # noqa: F401
from pubdata.db import Base


def test_migrations_match_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
