"""The service's one configuration object, read from the environment once at start-up."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from formats import DEFAULT_LIMITS, Limits

GIB = 1024**3


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

    @property
    def limits(self) -> Limits:
        """What a dataset may hold, for the API's checks and the worker's loading alike."""
        return Limits(
            max_expanded_bytes=self.max_expanded_bytes,
            max_members=self.max_archive_members,
            max_image_pixels=self.max_image_pixels,
            max_columns=self.max_columns,
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


@cache
def get_settings() -> Settings:
    return Settings()
