from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client(settings: Any, database: Any) -> Iterator[TestClient]:
    """The API on the test database and Redis (production mode, no local worker)."""
    from service.app import create_app

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def admin(make_key: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key('admin-alice', 'admin')}"}


@pytest.fixture
def reviewer(make_key: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key('reviewer-bob', 'reviewer')}"}
