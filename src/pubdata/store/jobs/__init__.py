"""The job queue of long work (ingestion of uploads): rows in the metadata database, claimed
atomically, run by ``runner.JobRunner`` with progress and heartbeats."""
