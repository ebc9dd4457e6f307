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
