"""The whole flow on PostgreSQL, Redis and a separate `labelaudit worker` process."""

import csv
import io
import json
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# Every test here runs with the session's worker, which trains.
pytestmark = [pytest.mark.usefixtures("worker_process"), pytest.mark.slow]
FAST = {"epochs": 8, "window": 3}


def upload(client, headers, table, config=FAST, filename="parts.csv"):
    response = client.post(
        "/audits",
        headers=headers,
        files={"file": (filename, table.to_csv(index=False).encode())},
        data={"config": json.dumps(config)},
    )
    assert response.status_code == 202, response.text
    return response.json()


def all_samples(client, headers, audit_id, **filters):
    """Every page of a sample listing, following next_cursor."""
    items, cursor = [], None
    while True:
        params = {**filters, "limit": 7, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/audits/{audit_id}/samples", headers=headers, params=params).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def read_csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_upload_audit_review_export_reaudit(
    client, admin, reviewer, make_blobs, audit_finished, settings
):
    table, wrong = make_blobs(40, noise=0.1)
    created = upload(client, admin, table)
    audit = audit_finished(client, reviewer, created["id"])
    assert audit["status"] == "succeeded", audit
    summary = audit["summary"]
    assert summary["samples"] == 120 and summary["reviewed"] == 0
    assert audit["progress"]["fraction"] == 1.0
    assert sum(cell["count"] for cell in summary["confusion"]) == summary["flagged"]

    # Suspects: most injected errors, most suspicious first, keyset pages without repeats.
    suspects = all_samples(client, reviewer, created["id"], flagged="true")
    flagged = {item["sample_id"] for item in suspects}
    assert len(flagged & wrong) >= 0.8 * len(wrong) and len(flagged) <= 2 * len(wrong)
    scores = [item["score"] for item in suspects]
    row = table.set_index("id").loc[suspects[0]["sample_id"]]
    assert suspects[0]["features"] == pytest.approx({f"f{i}": row[f"f{i}"] for i in range(8)})
    assert scores == sorted(scores, reverse=True) and len(flagged) == len(suspects)
    everything = all_samples(client, reviewer, created["id"])
    assert len({item["sample_id"] for item in everything}) == 120
    by_row = all_samples(client, reviewer, created["id"], order="row")
    assert [item["row_index"] for item in by_row] == list(range(120))
    nuts = all_samples(client, reviewer, created["id"], given_label="nut")
    assert nuts and all(item["given_label"] == "nut" for item in nuts)

    # Reviews: each action, in one batch, by a reviewer; then a stale version conflicts.
    first, second, third, fourth = (item["sample_id"] for item in suspects[:4])
    batch = {
        "items": [
            {"sample_id": first, "action": "accept", "version": 0},
            {"sample_id": second, "action": "relabel", "label": "washer", "version": 0},
            {"sample_id": third, "action": "exclude"},
            {"sample_id": fourth, "action": "keep"},
        ]
    }
    response = client.post(f"/audits/{created['id']}/reviews", headers=reviewer, json=batch)
    assert response.status_code == 200, response.text
    reviewed = {item["sample_id"]: item["review"] for item in response.json()["items"]}
    assert reviewed[first]["final_label"] == suspects[0]["suggested_label"]
    assert reviewed[second] == {**reviewed[second], "final_label": "washer", "version": 1}
    assert reviewed[third]["action"] == "exclude" and reviewed[third]["final_label"] is None
    assert reviewed[fourth]["final_label"] == suspects[3]["given_label"]
    assert reviewed[first]["reviewed_by"] == "reviewer-bob"

    stale = {
        "items": [
            {"sample_id": first, "action": "keep", "version": 0},
            {"sample_id": suspects[5]["sample_id"], "action": "keep"},
        ]
    }
    response = client.post(f"/audits/{created['id']}/reviews", headers=admin, json=stale)
    assert response.status_code == 409
    assert response.json()["error"]["details"][0]["current_version"] == 1
    untouched = client.get(
        f"/audits/{created['id']}/samples/{suspects[5]['sample_id']}", headers=reviewer
    ).json()
    assert untouched["review"]["action"] is None, "a 409 must apply none of the batch"

    log = client.get(f"/audits/{created['id']}/reviews", headers=reviewer).json()["items"]
    assert [event["sample_id"] for event in log] == [first, second, third, fourth]
    assert log[1]["before"]["final_label"] is None and log[1]["after"]["final_label"] == "washer"
    pending = all_samples(client, reviewer, created["id"], flagged="true", review="pending")
    assert len(pending) == len(suspects) - 4
    assert (
        client.get(f"/audits/{created['id']}", headers=reviewer).json()["summary"]["reviewed"] == 4
    )

    # Exports: suspects with decisions, and every sample's final label.
    rows = read_csv(client.get(f"/audits/{created['id']}/export.csv", headers=reviewer))
    assert [row["sample_id"] for row in rows] == [item["sample_id"] for item in suspects]
    assert rows[1]["action"] == "relabel" and rows[1]["final_label"] == "washer"
    corrected = read_csv(
        client.get(f"/audits/{created['id']}/export.csv?kind=corrected", headers=reviewer)
    )
    assert list(corrected[0]) == [
        "sample_id",
        "original_label",
        "final_label",
        "action",
        "excluded",
    ]
    assert len(corrected) == 120
    marked = {row["sample_id"]: row for row in corrected}
    assert marked[third]["excluded"] == "true" and marked[third]["final_label"] == ""
    assert marked[second]["final_label"] == "washer"

    # Re-audit with every suspect's suggestion accepted: fewer suspects.
    accept_all = {
        "items": [{"sample_id": item["sample_id"], "action": "accept"} for item in suspects[4:]]
    }
    assert (
        client.post(
            f"/audits/{created['id']}/reviews", headers=reviewer, json=accept_all
        ).status_code
        == 200
    )
    assert client.post(f"/audits/{created['id']}/reaudit", headers=reviewer).status_code == 403
    response = client.post(f"/audits/{created['id']}/reaudit", headers=admin, json={})
    assert response.status_code == 202, response.text
    child = audit_finished(client, reviewer, response.json()["id"])
    assert child["status"] == "succeeded" and child["parent_id"] == created["id"]
    assert child["summary"]["samples"] == 119 and child["corrections"]["excluded"] == 1
    assert child["summary"]["flagged"] < summary["flagged"]

    # Delete: rows and files go.
    audit_dir = Path(settings.data_dir) / "audits" / created["id"]
    assert audit_dir.exists()
    assert client.delete(f"/audits/{created['id']}", headers=reviewer).status_code == 403
    assert client.delete(f"/audits/{created['id']}", headers=admin).status_code == 204
    assert client.get(f"/audits/{created['id']}", headers=admin).status_code == 404
    assert not audit_dir.exists()
    assert client.get(f"/audits/{child['id']}", headers=admin).json()["parent_id"] is None


def stripes_zip(n_per_class: int = 12, size: int = 16) -> bytes:
    rng = np.random.default_rng(0)
    pattern = (np.arange(size) // 2 % 2 * 200).astype(np.uint8)
    horizontal = np.repeat(pattern[:, None], size, axis=1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for label, image in (("horizontal", horizontal), ("vertical", horizontal.T)):
            for i in range(n_per_class):
                noisy = np.clip(image + rng.integers(0, 50, image.shape), 0, 255)
                png = io.BytesIO()
                Image.fromarray(noisy.astype(np.uint8)).save(png, format="PNG")
                archive.writestr(f"stripes/{label}/{i:02d}.png", png.getvalue())
    return buffer.getvalue()


def test_image_archive_audit_serves_thumbnails(client, admin, reviewer, audit_finished):
    response = client.post(
        "/audits",
        headers=admin,
        files={"file": ("stripes.zip", stripes_zip())},
        data={"config": json.dumps({"epochs": 3, "window": 2, "image_size": 16})},
    )
    assert response.status_code == 202, response.text
    audit = audit_finished(client, reviewer, response.json()["id"])
    assert audit["status"] == "succeeded", audit
    assert audit["dataset"]["kind"] == "image"
    sample = client.get(f"/audits/{audit['id']}/samples?limit=1", headers=reviewer).json()
    item = sample["items"][0]
    assert item["sample_id"].startswith("stripes/") and item["image_url"]
    assert item["features"] is None
    thumbnail = client.get(item["image_url"] + "?size=64", headers=reviewer)
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumbnail.content)).size == (16, 16)
    again = client.get(item["image_url"] + "?size=64", headers=reviewer)
    assert again.content == thumbnail.content
    assert client.get(item["image_url"], headers={}).status_code == 401
    missing = client.get(f"/audits/{audit['id']}/samples/nope.png/image", headers=reviewer)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "sample_not_found"


def test_cancel_stops_a_running_audit(client, admin, reviewer, make_blobs, audit_finished):
    table, _ = make_blobs(400, noise=0.1)
    slow = upload(client, admin, table, {"epochs": 1000, "window": 5})
    deadline = time.monotonic() + 60
    while client.get(f"/audits/{slow['id']}", headers=admin).json()["status"] != "running":
        assert time.monotonic() < deadline, "the audit never started"
        time.sleep(0.1)
    response = client.post(f"/audits/{slow['id']}/cancel", headers=admin)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert client.post(f"/audits/{slow['id']}/cancel", headers=admin).status_code == 409
    samples = client.get(f"/audits/{slow['id']}/samples", headers=admin)
    assert samples.status_code == 409

    # The worker (concurrency 1) gave the cancelled audit up: the next one runs at once.
    table, _ = make_blobs(20)
    quick = upload(client, admin, table)
    assert audit_finished(client, admin, quick["id"], timeout=60)["status"] == "succeeded"
    assert client.get(f"/audits/{slow['id']}", headers=admin).json()["status"] == "cancelled"


def test_list_audits_newest_first_with_cursor(client, admin, reviewer, make_blobs):
    table, _ = make_blobs(5)
    ids = [upload(client, admin, table, filename=f"batch-{i}.csv")["id"] for i in range(3)]
    first = client.get("/audits?limit=2", headers=reviewer).json()
    assert [audit["id"] for audit in first["items"]] == ids[::-1][:2]
    second = client.get(f"/audits?limit=2&cursor={first['next_cursor']}", headers=reviewer)
    assert [audit["id"] for audit in second.json()["items"]] == [ids[0]]
    assert second.json()["next_cursor"] is None
    bad = client.get("/audits?cursor=garbage", headers=reviewer)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_cursor"
