"""Malformed uploads: each answers 4xx with a message naming the problem, leaves no row and
no file behind, and the service keeps answering; a malformed dataset file is refused by the
CLI's loader with the same code and the same words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from formats import DatasetError

from .corpus import CORPUS, DATASET_FILES, through_loader

# However many classes, members or rows are at fault, an error answer stays this small.
MAX_ERROR_BYTES = 8 * 1024


def assert_nothing_left(client: Any, settings: Any) -> None:
    from service.audits.models import Audit

    with client.app.state.database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Audit)) == 0
    data_dir = Path(settings.data_dir)
    assert list((data_dir / "incoming").iterdir()) == []
    assert list((data_dir / "audits").iterdir()) == []


def test_the_corpus_is_large_and_its_cases_distinct():
    names = [case.name for case in CORPUS]
    assert len(names) == len(set(names))
    assert len(CORPUS) >= 40


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_malformed_upload_is_refused_and_leaves_nothing(client, settings, admin, case):
    request = case.request(settings)
    headers = {**admin, **request.pop("headers", {})}
    response = client.post("/audits", headers=headers, **request)
    assert response.status_code == case.status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == case.code, error
    assert case.fragment in error["message"], error
    assert "Traceback" not in response.text
    assert len(response.content) < MAX_ERROR_BYTES, "an error lists a bounded number of items"
    assert_nothing_left(client, settings)
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize(
    "case",
    [case for case in CORPUS if case.name in DATASET_FILES],
    ids=[case.name for case in CORPUS if case.name in DATASET_FILES],
)
def test_the_cli_loader_refuses_a_malformed_file_with_the_same_code_and_words(
    client, settings, admin, tmp_path, case
):
    response = client.post("/audits", headers=admin, **case.request(settings))
    error = response.json()["error"]
    refused = through_loader(case.request(settings), tmp_path, settings)
    assert isinstance(refused, DatasetError), f"the loader accepted {case.name}"
    assert (refused.code, str(refused)) == (error["code"], error["message"])
