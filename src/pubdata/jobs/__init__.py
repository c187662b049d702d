"""The platform's one job system: every long job (ingestion, facts, scoring, matching, settlement,
backups) is a ``job`` row, queued, claimed by one worker, run by the handler registered for its kind,
retried with backoff and dead after too many attempts (see docs/architecture.md, "Jobs").

- ``models``: the ``job`` table;
- ``registry``: handlers by kind (domains register theirs in their own ``tasks.py``; this package
  never imports a domain);
- ``queue``: enqueue (deduplicated by key), claim, recover, finish, list, re-queue;
- ``runner``: one job to its end, and the ``JobRunner`` thread pool of a process."""
