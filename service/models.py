"""Every domain's tables, for Alembic and for tools that need the whole schema."""

from __future__ import annotations


def import_models() -> None:
    """Import each domain's models so that they register on :data:`service.db.Base`."""
    from .audits import models as audits  # noqa: F401
    from .auth import models as auth  # noqa: F401
    from .reviews import models as reviews  # noqa: F401
