"""Bad uploads answer 4xx with a message naming the problem, and leave nothing behind."""

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

GOOD_ROWS = "id,f1,f2,label\na,1,2,x\nb,2,3,x\nc,3,4,y\nd,4,5,y\n"


def png(mode: str = "L", size: int = 8, *, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (size, size), 128 if mode == "L" else (10, 20, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def archive(members: dict[str, bytes], *, compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as handle:
        for name, data in members.items():
            handle.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()


def npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


CLASS_IMAGES = {f"{label}/{i}.png": png() for label in ("ok", "scratch") for i in range(2)}

BAD_UPLOADS = [
    ("data.txt", b"hello", "unsupported_format", ".csv"),
    ("data.csv", b"", "empty_upload", "empty"),
    ("data.csv", b"a,b\n1,2\n3,4\n", "missing_label_column", "'label'"),
    ("data.csv", b"f1,label\n1,x\n2,x\n3,x\n", "too_few_classes", "at least 2 classes"),
    ("data.csv", b"f1,label\n1,x\n2,x\n3,y\n", "single_sample_class", "'y'"),
    ("data.csv", b"f1,f2,label\n1,2,x\n2,,x\n3,4,y\n4,5,y\n", "bad_feature", "row 2, column 'f2'"),
    ("data.csv", b"f1,label\n1,x\nabc,x\n3,y\n4,y\n", "bad_feature", "row 2, column 'f1'"),
    ("data.csv", b"f1,label\n1,\n2,x\n3,y\n4,y\n", "missing_label", "row 1"),
    ("data.csv", GOOD_ROWS.replace("b,", "a,").encode(), "duplicate_id", "'a'"),
    ("data.npz", npz(X=np.zeros((4, 2))), "missing_arrays", "y"),
    ("data.npz", npz(X=np.array([[1.0], [np.nan]]), y=np.array([0, 1])), "bad_feature", "row 2"),
    ("data.zip", b"not a zip", "bad_archive", "zip"),
    ("data.zip", archive({"../evil.png": png(), **CLASS_IMAGES}), "unsafe_archive_path", ".."),
    ("data.zip", archive({"/abs/x.png": png(), **CLASS_IMAGES}), "unsafe_archive_path", "absolute"),
    ("data.zip", archive({"readme.txt": b"hi"}), "empty_archive", "no images"),
    ("data.zip", archive({"a.png": png(), "b.png": png()}), "missing_label", "class folder"),
    ("data.zip", archive({**CLASS_IMAGES, "ok/3.png": png()[:60]}), "unreadable_image", "ok/3.png"),
    (
        "data.zip",
        archive({**CLASS_IMAGES, "ok/3.jpg": png(fmt="JPEG")[:200]}),
        "unreadable_image",
        "ok/3.jpg",
    ),
    (
        "data.zip",
        archive({**CLASS_IMAGES, "ok/rgb.png": png("RGB")}),
        "mixed_image_modes",
        "grayscale",
    ),
    (
        "data.zip",
        archive({"ok/1.png": png(), "ok/2.png": png(), "scratch/1.png": png()}),
        "single_sample_class",
        "'scratch'",
    ),
    (
        "data.zip",
        archive(
            {**CLASS_IMAGES, "ok/bomb.png": bytes(3 * 2**20)}, compression=zipfile.ZIP_DEFLATED
        ),
        "archive_too_large",
        "limit",
    ),
]


def assert_nothing_left(client, settings) -> None:
    from service.audits.models import Audit

    database = client.app.state.database
    with database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Audit)) == 0
    data_dir = Path(settings.data_dir)
    assert list((data_dir / "incoming").iterdir()) == []
    assert list((data_dir / "audits").iterdir()) == []


def assert_error(response, status: int, code: str, fragment: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code, error
    assert fragment in error["message"], error


@pytest.mark.parametrize(
    ("filename", "content", "code", "fragment"),
    BAD_UPLOADS,
    ids=[f"{code}-{i}" for i, (_, _, code, _) in enumerate(BAD_UPLOADS)],
)
def test_bad_upload_is_refused_and_leaves_nothing(
    client, settings, admin, filename, content, code, fragment
):
    response = client.post("/audits", headers=admin, files={"file": (filename, content)})
    assert_error(response, 422, code, fragment)
    assert "Traceback" not in response.text
    assert_nothing_left(client, settings)


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({"colour": "red"}), "colour"),
        (json.dumps({"k": 1.5}), "k:"),
        (json.dumps({"loss": "magic"}), "loss"),
        (json.dumps({"epochs": 3, "window": 5}), "window (5) cannot exceed epochs (3)"),
    ],
)
def test_bad_config_is_refused(client, settings, admin, config, fragment):
    response = client.post(
        "/audits",
        headers=admin,
        files={"file": ("data.csv", GOOD_ROWS.encode())},
        data={"config": config},
    )
    assert_error(response, 422, "invalid_config", fragment)
    assert_nothing_left(client, settings)


def test_upload_over_the_size_limit_is_cut_off(client, settings, admin):
    too_big = b"f1,label\n" + b"1,x\n" * (settings.max_upload_bytes // 4 + 1)
    response = client.post("/audits", headers=admin, files={"file": ("big.csv", too_big)})
    assert_error(response, 413, "upload_too_large", "limit")
    assert_nothing_left(client, settings)


def test_request_that_is_not_multipart_is_refused(client, settings, admin):
    response = client.post("/audits", headers=admin, content=b"id,label", params={})
    assert_error(response, 422, "not_multipart", "multipart/form-data")
    response = client.post("/audits", headers=admin, data={"config": "{}"}, files={"x": b""})
    assert_error(response, 422, "missing_file", "'file'")
    assert_nothing_left(client, settings)


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
