"""One SparkSession for every test of the batch engines: the JVM starts once per test process, with
its scratch space in a temporary directory of the test session's (not under ./pubdata-home)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from pubdata.settings import get_settings


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from pubdata.batch import spark as engine

    before = os.environ.get("PUBDATA_HOME")
    os.environ["PUBDATA_HOME"] = str(tmp_path_factory.mktemp("spark-home"))
    get_settings.cache_clear()
    try:
        session = engine.session()
    finally:
        if before is None:
            os.environ.pop("PUBDATA_HOME", None)
        else:
            os.environ["PUBDATA_HOME"] = before
        get_settings.cache_clear()
    yield session
    engine.stop()
