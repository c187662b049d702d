"""Settings from environment variables prefixed ``PUBDATA_`` (see docs/configuration.md)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PUBDATA_", extra="ignore")

    home: Path = Field(default=Path("./pubdata-home"), description="Directory for the embedded database and files")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite under home when unset")
    secret_key: str | None = Field(default=None, description="Signs CSRF tokens; generated under home when unset")
    base_url: str | None = Field(
        default=None,
        description="Public URL written into links (CKAN, DCAT, Data Package); http://HOST:PORT of the server when "
        "unset",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    session_hours: int = Field(default=12, description="Lifetime of a portal login session")
    token_days: int = Field(default=90, description="Default lifetime of an API token")
    token_max_days: int = Field(default=365, ge=1, description="Longest lifetime an API token may be given")
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins of one account before each further attempt must wait"
    )
    login_max_failures_per_address: int = Field(
        default=20, ge=1, description="Failed sign-ins from one address before each further attempt must wait"
    )
    login_max_wait_seconds: int = Field(
        default=900, ge=1, description="Longest wait imposed after repeated failed sign-ins"
    )
    sandbox_min_group_size: int = Field(default=10, ge=2, description="Smallest group the sandbox releases")
    sandbox_default_epsilon: float = Field(
        default=0.5, ge=0, le=5, description="ε a sandbox query on personal or health data spends when it names none "
        "(0: such a query is refused)"
    )  # fmt: skip
    sandbox_delta_per_epsilon: float = Field(
        default=1e-6, gt=0, le=1e-3, description="δ a differentially private sandbox query may add per unit of ε "
        "(the chance a group of one row is released at all)"
    )  # fmt: skip
    token_rate_per_minute: int = Field(default=600, description="Calls per minute a token may make unless set")
    search_max_rows: int = Field(default=1000, description="Largest page a search may ask for")
    search_warmup: bool = Field(default=True, description="Load the search index when the server starts")
    sql_echo: bool = False
    rows_max_limit: int = Field(default=10000, description="Largest page of rows a row query may ask for")
    rows_max_offset: int = Field(
        default=100_000, ge=0, description="Deepest offset the rows API pages to; deeper pages follow next_cursor "
        "(CKAN datastore_search keeps CKAN's unbounded offset)"
    )  # fmt: skip
    sql_max_rows: int = Field(default=10000, description="Rows a SQL query returns at most (more: truncated)")
    query_timeout_s: float = Field(
        default=10.0, gt=0, description="Time limit of one DuckDB statement (rows, SQL, counts, sandbox), in seconds"
    )
    download_timeout_s: float = Field(
        default=1800.0, gt=0, description="Time limit of one whole-table download's statement, in seconds"
    )
    duckdb_memory_limit: str = Field(default="4GB", description="Memory DuckDB may use for reads, per process")
    duckdb_threads: int = Field(default=2, description="Threads DuckDB uses for reads, per process")
    page_cache_mb: int = Field(
        default=256, ge=0, description="Memory for decoded row groups that row pages are served from, per process"
    )
    text_index_min_rows: int = Field(
        default=500_000, ge=0, description="Versions of at least this many rows get a text index for q at ingest "
        "(smaller ones are scanned; 0: every version with a text column)"
    )  # fmt: skip
    job_workers: int = Field(default=1, ge=0, description="Background jobs a server process runs at once; 0: none")
    job_poll_seconds: float = Field(default=1.0, gt=0, description="How often an idle runner looks for queued jobs")
    job_stale_seconds: int = Field(
        default=120, ge=10, description="A running job whose process has not reported for this long is retried"
    )
    job_max_attempts: int = Field(
        default=3, ge=1, le=20, description="Runs of an interrupted job in all before it is dead (not retried)"
    )
    job_retry_seconds: float = Field(
        default=5.0, ge=0, description="Backoff before the first retry of an interrupted job; doubled each time"
    )
    run_workers: bool = Field(
        default=True,
        description="Run the background work (jobs, facts refresh, matching, scoring) in each server process; "
        "false when separate `pubdata worker` processes run it (`pubdata serve --no-workers`)",
    )
    facts_refresh_seconds: float = Field(
        default=300, ge=0, description="How often a server rebuilds the enterprise facts if a source changed; 0: never"
    )
    settlement_auto: bool = Field(
        default=False,
        description="Queue the market's settlement of the previous month once it is over (one job per month, "
        "scheduled once per deployment); off: the finance staff settle by hand (POST /api/v1/market/settlements)",
    )
    batch_engine: str = Field(
        default="duckdb",
        pattern=r"^(duckdb|spark)$",
        description="Engine of the batch jobs (facts build, credit scoring, bulk policy matching): duckdb "
        "(in-process) or spark (PySpark; see docs/spark.md); the CLI's --engine overrides it",
    )
    spark_master: str = Field(
        default="local[2]",
        description="Spark master URL when the batch engine is spark: local[N] (in-process JVM) or "
        "spark://host:port (a standalone cluster)",
    )
    facts_sources_file: Path | None = Field(
        default=None,
        description="The fact-sources file (YAML) the enterprise facts are built from; unset: the demo city's "
        "(src/pubdata/enterprise/sources/qingdao.yaml)",
    )
    registry_city_prefix: str = Field(
        default="QD",
        pattern=r"^[A-Z]{2,4}$",
        description="The city's prefix of data registration codes (QD-DR-2026-000123); the demo city's is QD",
    )
    market_distribution: dict[str, Any] = Field(
        default={
            "threshold_fen": 1_000_000,
            "below": {"department": "3/10", "operator": "1/5", "provider": "1/2"},
            "above": {"department": "1/2", "operator": "1/10", "provider": "2/5"},
            "remainder_to": "operator",
        },
        description="How a data product's settled revenue is split when the product sets no rule of its own "
        "(JSON; see docs/settlement.md): each bill's amount up to threshold_fen by `below`, the part above "
        "it by `above` (累进: more to the data-supplying department)",
    )
    upload_max_bytes: int = Field(default=4 * 1024**3, gt=0, description="Largest file an upload may send, in bytes")
    request_max_bytes: int = Field(
        default=1024**2, gt=0, description="Largest request body other than an upload (JSON, forms), in bytes"
    )
    caller_max_concurrent: int = Field(
        default=8, ge=0, description="Requests one caller (token, login session or address) may have in progress "
        "at once, per process; 0: no limit"
    )  # fmt: skip
    server_max_concurrent: int = Field(
        default=64, ge=0, description="Requests a server process handles at once (more: 503); 0: no limit"
    )
    analytic_max_concurrent: int = Field(
        default=4, ge=0, description="Analytic queries (SQL, sandbox aggregates) a server process runs at once; "
        "the others wait their turn; 0: no limit"
    )  # fmt: skip
    analytic_queue_wait_s: float = Field(
        default=30.0, gt=0, description="How long an analytic query waits for its turn (then 503)"
    )
    db_pool_size: int = Field(default=10, ge=1, description="Database connections a process keeps open")
    db_max_overflow: int = Field(default=20, ge=0, description="Extra database connections a process may open")
    db_pool_timeout_s: float = Field(
        default=3.0, gt=0, description="How long a request waits for a free database connection (then 503)"
    )
    policy_material_max_mb: int = Field(
        default=10, gt=0, le=1024, description="Largest application material (PDF, PNG, JPEG) in MB"
    )
    market_report_max_mb: int = Field(
        default=50, gt=0, le=1024, description="Largest file (PDF) of a report product in MB"
    )
    audit_signing_key: SecretStr | None = Field(
        default=None, description="Ed25519 key signing audit checkpoints (PEM or base64 of the 32-byte seed)"
    )
    audit_key_file: Path | None = Field(
        default=None, description="File of the audit signing key (PEM, mode 600); $PUBDATA_HOME/audit_signing_key"
    )
    sharing_token_days: int = Field(
        default=30, ge=1, description="Default lifetime of a Delta Sharing recipient profile, in days"
    )
    sharing_token_max_days: int = Field(
        default=90, ge=1, description="Longest lifetime a Delta Sharing recipient profile may be given, in days"
    )
    sharing_url_minutes: int = Field(
        default=15, ge=1, le=1440, description="Lifetime of the pre-signed file URLs a Delta Sharing query returns"
    )

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def resolved_base_url(self) -> str:
        """The URL links point to, without a trailing slash: ``base_url`` when set, else the address the
        server listens on (``host``/``port``, so ``--port`` moves the links too). A wildcard host
        (0.0.0.0, ::) is not an address a client can use: links then name the loopback address."""
        if self.base_url:
            return self.base_url.rstrip("/")
        host = self.host.strip("[]")
        if host in ("", "0.0.0.0", "::"):
            host = "127.0.0.1"
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_home / 'pubdata.sqlite3'}"

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.resolved_home / "secret_key"
        if not path.exists():
            self.resolved_home.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
