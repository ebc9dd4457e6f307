"""A sample's image as a thumbnail, or at its original resolution for the large view."""

import io
import uuid
import zipfile

import numpy as np
from PIL import Image

from tests.seeding import write_audit


def stored_image_audit(database, settings, member: str, content: bytes) -> uuid.UUID:
    """An audit whose stored upload is a zip holding ``content`` as its only image."""
    from service.storage import Storage

    audit_id = uuid.uuid4()
    upload = Storage(settings.data_dir).upload_path(audit_id, "zip")
    upload.parent.mkdir(parents=True)
    with zipfile.ZipFile(upload, "w") as archive:
        archive.writestr(member, content)
    write_audit(
        database,
        [{"sample_id": member, "image_path": member}],
        id=audit_id,
        upload_filename="i.zip",
        upload_kind="zip",
        dataset_kind="image",
        summary=None,
    )
    return audit_id


def test_the_original_is_served_losslessly_at_its_own_size(client, reviewer, database, settings):
    pixels = np.random.default_rng(0).integers(0, 256, (200, 1500, 3), dtype=np.uint8)
    png = io.BytesIO()
    Image.fromarray(pixels).save(png, format="PNG")
    audit_id = stored_image_audit(database, settings, "scratch/wide.png", png.getvalue())
    url = f"/audits/{audit_id}/samples/scratch/wide.png/image"

    original = client.get(url, headers=reviewer, params={"original": "true"})
    assert original.status_code == 200 and original.headers["content-type"] == "image/png"
    # Wider than the largest thumbnail (1024), and every pixel as uploaded.
    assert (np.asarray(Image.open(io.BytesIO(original.content))) == pixels).all()
    again = client.get(url, headers=reviewer, params={"original": "true"})
    assert again.content == original.content

    thumbnail = client.get(url, headers=reviewer, params={"size": 512})
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumbnail.content)).size == (512, 68)


def test_a_damaged_stored_image_is_named_without_internals(client, reviewer, database, settings):
    """An upload damaged after it was accepted: the answer names the image and the problem,
    never a Python object's repr."""
    audit_id = stored_image_audit(database, settings, "scratch/broken.png", b"not an image")
    answer = client.get(f"/audits/{audit_id}/samples/scratch/broken.png/image", headers=reviewer)
    assert answer.status_code == 404
    message = answer.json()["error"]["message"]
    assert "scratch/broken.png" in message and "matches none of them" in message
    assert "<" not in message and "BytesIO" not in message
