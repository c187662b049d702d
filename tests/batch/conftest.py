"""One SparkSession for every test of the batch engines: the JVM starts once per test process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from pubdata.batch import spark as engine

    yield engine.session()
    engine.stop()
