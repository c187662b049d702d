"""Running work in threads released at once, for tests of what must hold under concurrency."""

from __future__ import annotations

import threading
from collections.abc import Callable


def together(n: int, work: Callable[[], object]) -> list[object]:
    """Run ``work()`` in ``n`` threads released at once; each thread's result or exception."""
    start = threading.Barrier(n)
    out: list[object] = [None] * n

    def run(i: int) -> None:
        start.wait()
        try:
            out[i] = work()
        except Exception as exc:  # noqa: BLE001 - collected for the caller's assertions
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out
