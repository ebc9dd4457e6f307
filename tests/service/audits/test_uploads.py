"""Uploads the service takes: options in the config, and images it converts (CMYK, 16-bit
gray, 1x1). The refused ones are in test_malformed_uploads."""

import io
import json

import pytest
from PIL import Image

from .files import GOOD_ROWS, archive, class_images


def test_label_column_can_be_named_in_config(client, admin):
    rows = GOOD_ROWS.replace("label", "defect").encode()
    response = client.post(
        "/audits",
        headers=admin,
        files={"file": ("data.csv", rows)},
        data={"config": json.dumps({"label_column": "defect", "name": "line 3"})},
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert response.headers["location"] == f"/audits/{body['id']}"
    assert body["name"] == "line 3" and body["status"] == "queued"
    assert body["dataset"]["class_names"] == ["x", "y"]
    assert body["config"]["label_column"] == "defect"


@pytest.mark.usefixtures("worker_process")
@pytest.mark.parametrize(
    ("images", "thumbnail_mode"),
    [
        (class_images("CMYK", fmt="JPEG", per_class=3), "RGB"),
        (class_images("I;16", fmt="PNG", per_class=3), "L"),
        (class_images("I;16B", fmt="TIFF", per_class=3), "L"),
        (class_images("L", size=1, per_class=3), "L"),
    ],
    ids=["cmyk-jpeg", "16-bit-png", "16-bit-big-endian-tiff", "1x1"],
)
@pytest.mark.slow
def test_unusual_images_are_converted_and_audited(
    client, admin, reviewer, audit_finished, images, thumbnail_mode
):
    response = client.post(
        "/audits",
        headers=admin,
        files={"file": ("parts.zip", archive(images))},
        data={"config": json.dumps({"epochs": 2, "window": 1})},
    )
    assert response.status_code == 202, response.text
    audit = audit_finished(client, reviewer, response.json()["id"])
    assert audit["status"] == "succeeded", audit
    assert audit["summary"]["samples"] == 6
    sample = client.get(f"/audits/{audit['id']}/samples?limit=1", headers=reviewer).json()
    thumbnail = client.get(sample["items"][0]["image_url"], headers=reviewer)
    assert thumbnail.status_code == 200, thumbnail.text
    shown = Image.open(io.BytesIO(thumbnail.content))
    assert shown.mode == thumbnail_mode
    # The darkest images of class_images hold 60/255 of the range, whatever their depth:
    # 16-bit values are scaled, not clipped to white.
    assert shown.getextrema() != (255, 255)


def test_the_row_and_class_limits_are_settings_named_in_the_refusal(client_for, admin, settings):
    from service.config import Settings

    from .test_malformed_uploads import assert_nothing_left

    read = Settings.model_validate({"LABELAUDIT_MAX_ROWS": "3", "LABELAUDIT_MAX_CLASSES": "1"})
    assert (read.limits.max_rows, read.limits.max_classes) == (3, 1)
    for change, code, words in [
        (
            {"max_rows": 3},
            "too_many_rows",
            "more than 3 rows, over the limit (LABELAUDIT_MAX_ROWS)",
        ),
        (
            {"max_classes": 1},
            "too_many_classes",
            "more than 1 classes, over the limit (LABELAUDIT_MAX_CLASSES)",
        ),
    ]:
        client = client_for(**change)
        response = client.post("/audits", headers=admin, files={"file": ("data.csv", GOOD_ROWS)})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == code and words in error["message"], error
        assert error["details"]["limit"] == next(iter(change.values()))
        assert_nothing_left(client, settings)
    accepted = client_for(max_rows=4, max_classes=2).post(
        "/audits", headers=admin, files={"file": ("data.csv", GOOD_ROWS)}
    )
    assert accepted.status_code == 202, accepted.text


@pytest.mark.parametrize("database_kind", ("postgresql", "sqlite"), indirect=True)
def test_an_upload_whose_client_disconnects_during_the_check_is_abandoned(
    client, admin, settings, monkeypatch
):
    """The client goes away once its body is sent, while the check runs chunk after chunk
    (as a minutes-long one would): the check stops at its next chunk, and neither the file
    nor an audit row is kept."""
    import time

    from service.audits import validation

    from .test_malformed_uploads import assert_nothing_left

    def endless_check(*_args, interrupt, **_options):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            interrupt()
            time.sleep(0.01)
        raise AssertionError("the check went on after the client disconnected")

    monkeypatch.setattr(validation, "check_dataset", endless_check)

    boundary = "labelaudit-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="data.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\n{GOOD_ROWS}\r\n--{boundary}--\r\n"
    ).encode()
    headers = {
        "host": "testserver",
        "content-type": f"multipart/form-data; boundary={boundary}",
        "content-length": str(len(body)),
        **{name.lower(): value for name, value in admin.items()},
    }
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/audits",
        "raw_path": b"/audits",
        "query_string": b"",
        "root_path": "",
        "headers": [(name.encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict] = []

    async def receive() -> dict:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    client.portal.call(client.app, scope, receive, send)
    assert sent[0]["status"] == 499, sent
    assert json.loads(sent[1]["body"])["error"]["code"] == "client_disconnected"
    assert_nothing_left(client, settings)


def test_ids_are_checked_for_storage_block_by_block(client, admin):
    from formats.limits import MAX_ID_CHARS

    long_id = "x" * (MAX_ID_CHARS + 1)
    for rows, words in [
        (GOOD_ROWS.replace("c,", "c\0d,"), "the sample id 'c\\x00d' holds a NUL character"),
        (GOOD_ROWS.replace("\nd,", f"\n{long_id},"), f"is over {MAX_ID_CHARS} characters"),
    ]:
        response = client.post("/audits", headers=admin, files={"file": ("data.csv", rows)})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "bad_text" and words in error["message"], error
