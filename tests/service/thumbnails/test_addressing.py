"""Thumbnails come in a fixed set of sizes (the cache holds at most one file per size and
sample), and every sample's image is reachable by its row whatever its id holds."""

import io
import uuid
import zipfile
from urllib.parse import urlsplit

from PIL import Image

from service.thumbnails.service import THUMBNAIL_SIZES
from tests.seeding import write_audit

from .test_original import stored_image_audit

# Ids a browser or a proxy would rewrite or cut short in a URL's path: dot segments (also
# escaped, %2E), and what ends a path or starts a query or fragment.
HOSTILE_IDS = [
    "..",
    ".",
    "a/../b.png",
    "./c.png",
    "d/./e.png",
    "%2e%2e",
    "f%2Fg",
    "h?i=1",
    "j#k",
    "l/image",
    "m//n",
    "o%",
    "p\\..\\q",
    "r/..",
]


def solid_png(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (shade, 255 - shade, 7)).save(out, format="PNG")
    return out.getvalue()


def hostile_image_audit(database, settings) -> uuid.UUID:
    """An image audit with one sample per hostile id, each image its own shade of red."""
    from service.storage import Storage

    audit_id = uuid.uuid4()
    upload = Storage(settings.data_dir).upload_path(audit_id, "zip")
    upload.parent.mkdir(parents=True)
    with zipfile.ZipFile(upload, "w") as archive:
        for row in range(len(HOSTILE_IDS)):
            archive.writestr(f"class/{row}.png", solid_png(10 * row))
    samples = [
        {"sample_id": sample_id, "image_path": f"class/{row}.png"}
        for row, sample_id in enumerate(HOSTILE_IDS)
    ]
    write_audit(
        database, samples, id=audit_id, upload_kind="zip", dataset_kind="image", summary=None
    )
    return audit_id


def as_a_browser_sends_it(url: str) -> str:
    """The path after the WHATWG URL parser, which drops dot segments (also as %2E)."""
    kept: list[str] = []
    for segment in urlsplit(url).path.split("/")[1:]:
        dots = segment.lower().replace("%2e", ".")
        if dots == "..":
            kept = kept[:-1]
        elif dots != ".":
            kept.append(segment)
    return "/" + "/".join(kept)


def test_every_sample_reaches_its_own_image_and_resource(client, reviewer, database, settings):
    audit_id = hostile_image_audit(database, settings)
    page = client.get(f"/audits/{audit_id}/samples?order=row&limit=50", headers=reviewer)
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    assert [item["sample_id"] for item in items] == HOSTILE_IDS
    for row, item in enumerate(items):
        url = item["image_url"]
        assert as_a_browser_sends_it(url) == url, f"{item['sample_id']!r}: {url} is rewritten"
        assert urlsplit(url).query == "" and "%" not in url
        image = client.get(url, headers=reviewer, params={"size": 64})
        assert image.status_code == 200, (item["sample_id"], image.text)
        red = Image.open(io.BytesIO(image.content)).convert("RGB").getpixel((20, 20))[0]
        assert abs(red - 10 * row) <= 4, f"{item['sample_id']!r} showed another sample's image"
        resource = client.get(f"/audits/{audit_id}/rows/{item['row_index']}", headers=reviewer)
        assert resource.status_code == 200 and resource.json()["sample_id"] == item["sample_id"]


def test_a_missing_row_is_named(client, reviewer, database, settings):
    audit_id = hostile_image_audit(database, settings)
    for path in (f"/audits/{audit_id}/rows/999", f"/audits/{audit_id}/rows/999/image"):
        answer = client.get(path, headers=reviewer)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "sample_not_found"
        assert answer.json()["error"]["details"] == {"row_index": 999}
    # Outside the column's 32-bit range: refused before PostgreSQL sees it (it was a 500).
    for row in ("-1", str(2**31), str(10**40)):
        for path in (f"/audits/{audit_id}/rows/{row}", f"/audits/{audit_id}/rows/{row}/image"):
            answer = client.get(path, headers=reviewer)
            assert answer.status_code == 422, (path, answer.text)
            assert answer.json()["error"]["code"] == "invalid_request"
    assert client.get(f"/audits/{uuid.uuid4()}/rows/0/image", headers=reviewer).status_code == 404


def test_only_the_listed_sizes_are_made(client, reviewer, database, settings):
    audit_id = stored_image_audit(database, settings, "scratch/one.png", solid_png(100))
    url = f"/audits/{audit_id}/rows/0/image"
    for size in (16, 17, 100, 255, 257, 1024):
        answer = client.get(url, headers=reviewer, params={"size": size})
        assert answer.status_code == 422, size
        error = answer.json()["error"]
        assert error["code"] == "unsupported_size"
        assert error["details"] == {"size": size, "allowed": list(THUMBNAIL_SIZES)}
        assert "64, 96, 128, 256, 512" in error["message"]
    for size in THUMBNAIL_SIZES:
        answer = client.get(url, headers=reviewer, params={"size": size})
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    assert client.get(url, headers=reviewer, params={"original": "true"}).status_code == 200
    made = sorted(
        path.relative_to(settings.data_dir / "audits" / str(audit_id) / "thumbnails").as_posix()
        for path in (settings.data_dir / "audits" / str(audit_id) / "thumbnails").rglob("*.*")
    )
    assert made == sorted([f"{size}/0.jpg" for size in THUMBNAIL_SIZES] + ["original/0.png"])
