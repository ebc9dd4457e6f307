"""The service's one configuration object, read from the environment once at start-up."""

from __future__ import annotations

import ipaddress
from functools import cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from formats import DEFAULT_LIMITS, Limits

GIB = 1024**3
MIB = 1024**2
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    """Where the data, database and broker are, and the service's limits.

    Left unset, ``DATABASE_URL`` and ``CELERY_BROKER_URL`` give the embedded mode: SQLite and
    kombu's filesystem transport under the data directory, so nothing needs a server.
    """

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    data_dir: Path = Field(default=Path("var"), validation_alias=_env("LABELAUDIT_DATA_DIR"))
    database_url: str | None = Field(default=None, validation_alias=_env("DATABASE_URL"))
    celery_broker_url: str | None = Field(default=None, validation_alias=_env("CELERY_BROKER_URL"))
    # Workers with a GPU consume `gpu` and `cpu`, others `cpu` only (see worker/cli.py); set
    # AUDIT_QUEUE=gpu where GPU workers run so that audits wait for one.
    audit_queue: str = Field(default="cpu", validation_alias=_env("AUDIT_QUEUE"))
    admin_key: SecretStr | None = Field(default=None, validation_alias=_env("LABELAUDIT_ADMIN_KEY"))
    admin_key_name: str = Field(default="admin", validation_alias=_env("LABELAUDIT_ADMIN_KEY_NAME"))
    max_upload_bytes: int = Field(
        default=4 * GIB, gt=0, validation_alias=_env("LABELAUDIT_MAX_UPLOAD_BYTES")
    )
    # Every other request body (JSON, forms), refused with 413 before it is read past this.
    # The largest legitimate one, 1,000 reviews with the longest ids and labels and every
    # character JSON-escaped, is about 15.5 MB.
    max_body_bytes: int = Field(
        default=16 * MIB, gt=0, validation_alias=_env("LABELAUDIT_MAX_BODY_BYTES")
    )
    # Requests the API serves at once; the database pool and the thread pool are sized from
    # it, so that a request never waits for a connection or a thread that another one holds.
    max_active_requests: int = Field(
        default=32, ge=1, validation_alias=_env("LABELAUDIT_MAX_ACTIVE_REQUESTS")
    )
    # Requests that wait (holding nothing) for one of those; past this, 503 at once.
    max_waiting_requests: int = Field(
        default=128, ge=0, validation_alias=_env("LABELAUDIT_MAX_WAITING_REQUESTS")
    )
    # How long a request waits for a slot, a database connection or SQLite's write lock
    # before it is answered 503 with Retry-After (the worker keeps waiting 30 s for the lock).
    busy_timeout_s: float = Field(
        default=5.0, gt=0, validation_alias=_env("LABELAUDIT_BUSY_TIMEOUT")
    )
    # The dataset limits (see formats.Limits, whose defaults these are): what an archive may
    # expand to summed over its entries (the zip-bomb limit), its members, an image's pixels
    # and a table's columns.
    max_expanded_bytes: int = Field(
        default=DEFAULT_LIMITS.max_expanded_bytes,
        gt=0,
        validation_alias=_env("LABELAUDIT_MAX_EXPANDED_BYTES"),
    )
    max_archive_members: int = Field(
        default=DEFAULT_LIMITS.max_members,
        gt=0,
        validation_alias=_env("LABELAUDIT_MAX_ARCHIVE_MEMBERS"),
    )
    max_image_pixels: int = Field(
        default=DEFAULT_LIMITS.max_image_pixels,
        gt=0,
        validation_alias=_env("LABELAUDIT_MAX_IMAGE_PIXELS"),
    )
    max_columns: int = Field(
        default=DEFAULT_LIMITS.max_columns, gt=0, validation_alias=_env("LABELAUDIT_MAX_COLUMNS")
    )
    # Rows (samples) of a table or array, and distinct labels (the engine's memory grows
    # with samples x classes; the worker's own budget check comes on top of this count).
    max_rows: int = Field(
        default=DEFAULT_LIMITS.max_rows, gt=0, validation_alias=_env("LABELAUDIT_MAX_ROWS")
    )
    max_classes: int = Field(
        default=DEFAULT_LIMITS.max_classes, gt=0, validation_alias=_env("LABELAUDIT_MAX_CLASSES")
    )
    # What an audit's training buffers (samples x classes x views of probabilities) may take
    # in a worker; a larger dataset is refused at upload with 422 dataset_too_large_to_train.
    max_training_memory_bytes: int = Field(
        default=DEFAULT_LIMITS.max_training_bytes,
        gt=0,
        validation_alias=_env("LABELAUDIT_MAX_TRAINING_MEMORY_BYTES"),
    )
    # CPU threads a worker trains with. Unset: OMP_NUM_THREADS if set, else the CPUs the
    # worker may run on (its affinity mask within its cgroup's CPU quota; worker/threads.py).
    training_threads: int | None = Field(
        default=None, ge=1, le=1024, validation_alias=_env("LABELAUDIT_TRAINING_THREADS")
    )
    progress_interval_s: float = Field(
        default=1.0, ge=0, validation_alias=_env("LABELAUDIT_PROGRESS_INTERVAL")
    )
    # A running audit's lease: its worker renews it every sixth of this; once it has
    # expired (the worker died, hung or lost the database), the next sweep re-queues the
    # audit, and it resumes from its checkpoint on another worker.
    lease_s: float = Field(default=30.0, ge=3, validation_alias=_env("LABELAUDIT_LEASE_SECONDS"))
    # How often every worker looks for audits whose lease has expired.
    sweep_interval_s: float = Field(
        default=10.0, gt=0, validation_alias=_env("LABELAUDIT_SWEEP_INTERVAL")
    )
    # A queued audit that no worker has claimed this long after its task was sent, while its
    # queue holds fewer messages than it has queued audits, lost its message (a broker
    # restarted without persistence) and the sweep sends it again.
    resend_after_s: float = Field(
        default=60.0, gt=0, validation_alias=_env("LABELAUDIT_RESEND_AFTER_SECONDS")
    )
    # Redis hands an unacknowledged message to another worker after this long. Recovery does
    # not wait for it (the sweeper re-queues); a late re-delivery finds the audit done or
    # leased and is dropped.
    visibility_timeout_s: int = Field(
        default=6 * 3600, gt=0, validation_alias=_env("CELERY_VISIBILITY_TIMEOUT")
    )

    # Signs the dashboard's session cookies; unset, a random one is kept in
    # `<data dir>/session-secret`. Changing it signs every browser out. At least 32
    # characters: a short one could be guessed, and with it any session made.
    session_secret: SecretStr | None = Field(
        default=None, min_length=32, validation_alias=_env("LABELAUDIT_SESSION_SECRET")
    )
    # Reverse proxies (comma-separated addresses or networks, e.g. "10.0.0.5,10.1.0.0/16")
    # whose X-Forwarded-Proto is believed: behind one that terminates TLS the sign-in
    # cookies are marked Secure although the proxy talks plain HTTP to us.
    trusted_proxies: str = Field(default="", validation_alias=_env("LABELAUDIT_TRUSTED_PROXIES"))

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        proxy_networks(value)  # a typo fails at start-up, not on every sign-in
        return value

    @property
    def limits(self) -> Limits:
        """What a dataset may hold, for the API's checks and the worker's loading alike."""
        return Limits(
            max_expanded_bytes=self.max_expanded_bytes,
            max_members=self.max_archive_members,
            max_image_pixels=self.max_image_pixels,
            max_columns=self.max_columns,
            max_rows=self.max_rows,
            max_classes=self.max_classes,
            max_training_bytes=self.max_training_memory_bytes,
        )

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def embedded_broker(self) -> bool:
        return self.celery_broker_url is None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url is not None:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'labelaudit.db').resolve()}"

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "broker"

    @property
    def audits_dir(self) -> Path:
        return self.data_dir / "audits"

    @property
    def incoming_dir(self) -> Path:
        return self.data_dir / "incoming"


def proxy_networks(listed: str) -> list[IPNetwork]:
    """LABELAUDIT_TRUSTED_PROXIES as networks (an address is a network of one)."""
    parts = [part.strip() for part in listed.split(",")]
    return [ipaddress.ip_network(part, strict=False) for part in parts if part]


@cache
def get_settings() -> Settings:
    return Settings()
