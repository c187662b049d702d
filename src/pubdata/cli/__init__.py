"""The ``pubdata`` command: one module per domain, each registering its commands on ``app`` when
imported (all are imported here, so ``pubdata --help`` and ``python -m pubdata.cli --help`` list
every command)."""

from pubdata.cli import audit, backup, enterprise, finance, identity, jobs, platform, policy, store  # noqa: F401  (register commands)
from pubdata.cli.base import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover
    app(prog_name="pubdata")
