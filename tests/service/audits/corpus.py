"""The corpus of uploads, generated here: malformed ones with the code and words each must be
refused with (by the API, and by the CLI's loader for the dataset files), and unusual good
ones both must accept."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from formats import Dataset, DatasetError, load_dataset

from .files import (
    GOOD_ROWS,
    archive,
    class_images,
    duplicate_member_archive,
    exif_rotated_jpeg,
    flagged_encrypted,
    gzipped,
    image_bytes,
    latin1_named_archive,
    npz,
    npz_with_header_claiming,
    parquet,
    png_claiming,
)

Request = Callable[[Any], dict[str, Any]]


@dataclass(frozen=True)
class BadUpload:
    """One malformed upload: how to send it (given the settings) and what must come back."""

    name: str
    request: Request
    code: str
    fragment: str
    status: int = 422


def upload(filename: str, content: bytes | Callable[[Any], bytes], config: Any = None) -> Request:
    """A request with one ``file`` part (``content`` may depend on the settings) and an
    optional ``config`` part (a dict is sent as JSON, a string as it is)."""

    def build(settings: Any) -> dict[str, Any]:
        data = content(settings) if callable(content) else content
        fields = {}
        if config is not None:
            fields["config"] = config if isinstance(config, str) else json.dumps(config)
        return {"files": {"file": (filename, data)}, "data": fields}

    return build


def named(filename: str, content: str | bytes, config: Any = None) -> Request:
    """``content`` (text is sent as UTF-8) under ``filename``, whatever it holds."""
    return upload(filename, content.encode() if isinstance(content, str) else content, config)


def zipped(members: dict[str, bytes], **options: Any) -> Request:
    return upload("data.zip", archive(members, **options))


def with_config(config: Any) -> Request:
    return upload("data.csv", GOOD_ROWS.encode(), config)


def pickled(key: str) -> Callable[[Any], bytes]:
    """An npz whose ``key`` array holds objects that, unpickled, would create a file in
    ``incoming/``, where the check that nothing is left behind would find it."""

    def build(settings: Any) -> bytes:
        class Marker:
            def __reduce__(self) -> tuple[Any, ...]:
                return (open, (str(Path(settings.data_dir) / "incoming" / "unpickled"), "w"))

        payload = np.empty(4, dtype=object)
        payload[:] = [Marker() for _ in range(4)]
        arrays = {"X": np.ones((4, 2)), "y": np.array([0, 0, 1, 1])}
        arrays[key] = payload if key == "y" else payload.reshape(4, 1)
        return npz(**arrays)

    return build


def multipart(body: bytes) -> Request:
    """A hand-written multipart body (boundary ``XyZ``), for requests a client library would
    not send."""
    return lambda _settings: {
        "content": body,
        "headers": {"Content-Type": "multipart/form-data; boundary=XyZ"},
    }


CLASS_IMAGES = class_images()
TWO_FILE_PARTS = (
    b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
    + GOOD_ROWS.encode()
    + b'\r\n--XyZ\r\nContent-Disposition: form-data; name="file"; filename="b.csv"\r\n\r\n'
    + GOOD_ROWS.encode()
    + b"\r\n--XyZ--\r\n"
)
NUL_FILENAME = (
    b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="data\0.csv"\r\n\r\n'
    + GOOD_ROWS.encode()
    + b"\r\n--XyZ--\r\n"
)

FORMATS = [
    BadUpload("txt-extension", named("data.txt", "hello"), "unsupported_format", ".csv"),
    BadUpload("exe-extension", named("setup.exe", b"MZ\x90\0"), "unsupported_format", "setup.exe"),
    BadUpload("no-filename", named("", GOOD_ROWS), "unsupported_format", "without a name"),
    BadUpload("tar-gz", named("data.tar.gz", gzipped(b"x")), "unsupported_format", "image"),
    BadUpload("csv-named-npz", named("data.npz", GOOD_ROWS), "unreadable_table", ".npz"),
    BadUpload("png-named-zip", upload("data.zip", image_bytes()), "bad_archive", "zip"),
    BadUpload(
        "zip-named-csv", upload("data.csv", archive(CLASS_IMAGES)), "unreadable_table", "UTF-8"
    ),
    BadUpload(
        "png-named-parquet", upload("d.parquet", image_bytes()), "unreadable_table", "Parquet"
    ),
    BadUpload("text-named-csv-gz", named("data.csv.gz", GOOD_ROWS), "unreadable_table", "gzip"),
    BadUpload("empty-csv", named("data.csv", b""), "empty_upload", "empty"),
    BadUpload("empty-zip-file", named("data.zip", b""), "empty_upload", "empty"),
    BadUpload("empty-npz", named("data.npz", b""), "empty_upload", "empty"),
]

ARCHIVES = [
    BadUpload("not-a-zip", named("data.zip", b"not a zip"), "bad_archive", "zip"),
    BadUpload(
        "truncated-zip",
        upload("data.zip", archive(CLASS_IMAGES)[: len(archive(CLASS_IMAGES)) // 2]),
        "bad_archive",
        "not a readable zip",
    ),
    BadUpload(
        "dot-dot-path",
        zipped({"../evil.png": image_bytes(), **CLASS_IMAGES}),
        "unsafe_archive_path",
        "'..'",
    ),
    BadUpload(
        "backslash-dot-dot-path",
        zipped({"ok\\..\\..\\evil.png": image_bytes(), **CLASS_IMAGES}),
        "unsafe_archive_path",
        "'..'",
    ),
    BadUpload(
        "absolute-path",
        zipped({"/etc/evil.png": image_bytes(), **CLASS_IMAGES}),
        "unsafe_archive_path",
        "absolute",
    ),
    BadUpload(
        "drive-letter-path",
        zipped({"C:/evil.png": image_bytes(), **CLASS_IMAGES}),
        "unsafe_archive_path",
        "absolute",
    ),
    BadUpload(
        "symbolic-link",
        zipped(
            {**CLASS_IMAGES, "ok/link.png": b"/etc/passwd"}, symlinks=frozenset({"ok/link.png"})
        ),
        "bad_archive",
        "symbolic links",
    ),
    BadUpload(
        "zip-bomb-past-the-expanded-limit",
        zipped({**CLASS_IMAGES, "ok/bomb.png": bytes(3 * 2**20)}, compression=zipfile.ZIP_DEFLATED),
        "archive_too_large",
        "expands past the limit",
    ),
    BadUpload(
        "zip-bomb-ratio",
        zipped({**CLASS_IMAGES, "ok/bomb.png": bytes(3 * 2**19)}, compression=zipfile.ZIP_DEFLATED),
        "archive_too_large",
        "zip bomb",
    ),
    BadUpload(
        "nested-zip",
        zipped({**CLASS_IMAGES, "ok/more.zip": archive(CLASS_IMAGES)}),
        "bad_archive",
        "nested archives",
    ),
    BadUpload(
        "nested-tar-gz",
        zipped({**CLASS_IMAGES, "ok/more.tar.gz": gzipped(b"x")}),
        "bad_archive",
        "nested archives",
    ),
    BadUpload(
        "encrypted-member",
        upload("data.zip", flagged_encrypted(archive(CLASS_IMAGES))),
        "bad_archive",
        "encrypted",
    ),
    BadUpload(
        "duplicate-member",
        upload("data.zip", duplicate_member_archive("ok/0.png", CLASS_IMAGES)),
        "bad_archive",
        "appears twice",
    ),
    BadUpload("no-members", zipped({}), "empty_archive", "no images"),
    BadUpload("no-images", zipped({"readme.txt": b"hi"}), "empty_archive", "no images"),
    BadUpload(
        "svg-only", zipped({"ok/a.svg": b"<svg/>", "x/b.svg": b"<svg/>"}), "empty_archive", ".png"
    ),
    BadUpload(
        "images-outside-class-folders",
        zipped({"a.png": image_bytes(), "b.png": image_bytes()}),
        "missing_label",
        "class folder",
    ),
    BadUpload(
        "labels-file-without-columns",
        zipped({"a.png": image_bytes(), "labels.csv": b"file,class\na.png,x\n"}),
        "bad_labels_file",
        "path and label",
    ),
    BadUpload(
        "labels-file-unsafe-path",
        zipped({"a.png": image_bytes(), "labels.csv": b"path,label\n../a.png,x\n"}),
        "bad_labels_file",
        "unsafe",
    ),
    BadUpload(
        "labels-file-lists-an-image-twice",
        zipped(
            {
                **{f"{i}.png": image_bytes() for i in range(4)},
                "labels.csv": b"path,label\n0.png,x\n1.png,x\n2.png,y\n3.png,y\n0.png,y\n",
            }
        ),
        "bad_labels_file",
        "listed twice",
    ),
    BadUpload(
        "labels-file-misses-an-image",
        zipped(
            {"a.png": image_bytes(), "b.png": image_bytes(), "labels.csv": b"path,label\na.png,x\n"}
        ),
        "missing_label",
        "not listed",
    ),
]

IMAGES = [
    BadUpload(
        "truncated-png",
        zipped({**CLASS_IMAGES, "ok/3.png": image_bytes()[:60]}),
        "unreadable_image",
        "ok/3.png",
    ),
    BadUpload(
        "truncated-jpeg",
        zipped({**CLASS_IMAGES, "ok/3.jpg": image_bytes(fmt="JPEG")[:200]}),
        "unreadable_image",
        "ok/3.jpg",
    ),
    BadUpload(
        "random-bytes-png",
        zipped({**CLASS_IMAGES, "ok/3.png": bytes(range(256)) * 4}),
        "unreadable_image",
        "ok/3.png",
    ),
    BadUpload(
        "postscript-named-png",
        zipped({**CLASS_IMAGES, "ok/3.png": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n"}),
        "unreadable_image",
        "ok/3.png",
    ),
    BadUpload(
        "decompression-bomb-20000x20000",
        zipped({**CLASS_IMAGES, "ok/bomb.png": png_claiming(20_000, 20_000)}),
        "image_too_large",
        "decompression bomb",
    ),
    BadUpload(
        "over-the-pixel-limit-7000x7000",
        zipped({**CLASS_IMAGES, "ok/big.png": image_bytes("1", 7000, value=0)}),
        "image_too_large",
        "7000x7000",
    ),
    BadUpload(
        "mixed-gray-and-colour",
        zipped({**CLASS_IMAGES, "ok/rgb.png": image_bytes("RGB")}),
        "mixed_image_modes",
        "grayscale",
    ),
    BadUpload(
        "float-pixels",
        zipped(class_images("F", fmt="TIFF")),
        "unsupported_image_mode",
        "F",
    ),
    BadUpload(
        "image-class-with-one-sample",
        zipped(
            {"ok/1.png": image_bytes(), "ok/2.png": image_bytes(), "scratch/1.png": image_bytes()}
        ),
        "single_sample_class",
        "'scratch'",
    ),
]

MILLION_COLUMNS = ("label" + ",f" * 999_999 + "\nx" + ",1" * 999_999 + "\n").encode()

TABLES = [
    BadUpload(
        "no-label-column", named("d.csv", "a,b\n1,2\n3,4\n"), "missing_label_column", "'label'"
    ),
    BadUpload(
        "configured-label-column-missing",
        named("d.csv", GOOD_ROWS, {"label_column": "defect"}),
        "missing_label_column",
        "'defect'",
    ),
    BadUpload(
        "one-class-only", named("d.csv", "f1,label\n1,x\n2,x\n3,x\n"), "too_few_classes", "'x'"
    ),
    BadUpload(
        "class-with-one-sample",
        named("d.csv", "f1,label\n1,x\n2,x\n3,y\n"),
        "single_sample_class",
        "'y'",
    ),
    BadUpload(
        # The message and the details list 20 classes and count the rest: listing all 9,000
        # made an answer of megabytes (at 200,000 classes, 4.6 MB).
        "thousands-of-single-sample-classes",
        named(
            "d.csv", "f1,label\n1,x\n2,x\n" + "".join(f"{i},class-{i:04d}\n" for i in range(9_000))
        ),
        "single_sample_class",
        "'class-0019' and 8,980 more have fewer than 2 samples",
    ),
    BadUpload("header-only", named("d.csv", "f1,label\n"), "too_few_classes", "none"),
    BadUpload(
        "no-feature-columns",
        named("d.csv", "id,label\na,x\nb,x\nc,y\nd,y\n"),
        "no_features",
        "no feature columns",
    ),
    BadUpload(
        "empty-feature-cell",
        named("d.csv", "f1,f2,label\n1,2,x\n2,,x\n3,4,y\n4,5,y\n"),
        "bad_feature",
        "row 2, column 'f2'",
    ),
    BadUpload(
        "text-feature",
        named("d.csv", "f1,label\n1,x\nabc,x\n3,y\n4,y\n"),
        "bad_feature",
        "row 2, column 'f1'",
    ),
    BadUpload(
        "nan-feature",
        named("d.csv", "f1,label\n1,x\nNaN,x\n3,y\n4,y\n"),
        "bad_feature",
        "row 2, column 'f1'",
    ),
    BadUpload(
        "infinite-feature",
        named("d.csv", "f1,label\n1,x\n2,x\n-inf,y\n4,y\n"),
        "bad_feature",
        "row 3, column 'f1'",
    ),
    BadUpload(
        "overflowing-feature",
        named("d.csv", "f1,label\n1,x\n2,x\n3,y\n1e999,y\n"),
        "bad_feature",
        "row 4, column 'f1'",
    ),
    BadUpload(
        "row-without-label",
        named("d.csv", "f1,label\n1,\n2,x\n3,y\n4,y\n"),
        "missing_label",
        "row 1",
    ),
    BadUpload(
        "ragged-long-row",
        named("d.csv", "f1,f2,label\n1,2,x\n2,3,x,9\n3,4,y\n4,5,y\n"),
        "ragged_rows",
        "line 3 has 4 fields but the header has 3",
    ),
    BadUpload(
        "ragged-first-row",
        named("d.csv", "f1,label\n1,x,9\n2,x\n3,y\n4,y\n"),
        "ragged_rows",
        "line 2 has 3 fields but the header has 2",
    ),
    BadUpload(
        "ragged-short-row",
        named("d.csv", "f1,f2,label\n1,2,x\n2,x\n3,4,y\n4,5,y\n"),
        "missing_label",
        "row 2 has no label",
    ),
    BadUpload(
        "unterminated-quote",
        named("d.csv", 'f1,label\n1,"x\n2,y\n'),
        "unreadable_table",
        "EOF inside string",
    ),
    BadUpload(
        "latin-1-text",
        named("d.csv", "f1,label\n1,café\n2,café\n3,y\n4,y\n".encode("latin-1")),
        "unreadable_table",
        "line 2 is not UTF-8",
    ),
    BadUpload(
        "utf-16-text", named("d.csv", GOOD_ROWS.encode("utf-16")), "unreadable_table", "not UTF-8"
    ),
    BadUpload(
        "binary-garbage-csv", named("d.csv", bytes(range(256)) * 4), "unreadable_table", "not UTF-8"
    ),
    BadUpload(
        "nul-in-label",
        named("d.csv", "f1,label\n1,x\n2,x\n3,y\0z\n4,y\0z\n"),
        "bad_text",
        "NUL",
    ),
    BadUpload("duplicate-id", named("d.csv", GOOD_ROWS.replace("b,", "a,")), "duplicate_id", "'a'"),
    BadUpload("empty-id", named("d.csv", GOOD_ROWS.replace("b,", ",")), "missing_id", "row 2"),
    BadUpload(
        "million-column-header",
        upload("wide.csv", MILLION_COLUMNS),
        "too_many_columns",
        "1000000 columns",
    ),
    BadUpload(
        "parquet-text-feature",
        upload("d.parquet", parquet({"f1": list("abcd"), "label": list("xxyy")})),
        "bad_feature",
        "'f1'",
    ),
    BadUpload(
        "parquet-nan-feature",
        upload("d.parquet", parquet({"f1": [1.0, float("nan"), 3.0, 4.0], "label": list("xxyy")})),
        "bad_feature",
        "row 2, column 'f1'",
    ),
    BadUpload(
        "parquet-without-label",
        upload("d.parquet", parquet({"f1": [1, 2], "g": [3, 4]})),
        "missing_label_column",
        "'label'",
    ),
    BadUpload(
        "corrupt-parquet",
        named("d.parquet", b"PAR1" + bytes(100) + b"PAR1"),
        "unreadable_table",
        "Parquet",
    ),
]

Y = np.array([0, 0, 1, 1])
ARRAYS = [
    BadUpload("npz-without-y", upload("d.npz", npz(X=np.zeros((4, 2)))), "missing_arrays", "y"),
    BadUpload("npz-without-arrays", upload("d.npz", npz(a=np.zeros(2))), "missing_arrays", "X, y"),
    BadUpload("npz-pickled-labels", upload("d.npz", pickled("y")), "pickled_array", "pickled"),
    BadUpload("npz-pickled-features", upload("d.npz", pickled("X")), "pickled_array", "pickled"),
    BadUpload(
        "npz-nan-feature",
        upload("d.npz", npz(X=np.array([[1.0], [np.nan], [2.0], [3.0]]), y=Y)),
        "bad_feature",
        "row 2",
    ),
    BadUpload(
        "npz-infinite-feature",
        upload("d.npz", npz(X=np.array([[1.0], [2.0], [np.inf], [3.0]]), y=Y)),
        "bad_feature",
        "row 3",
    ),
    BadUpload(
        "npz-length-mismatch",
        upload("d.npz", npz(X=np.zeros((5, 2)), y=Y)),
        "bad_arrays",
        "one row per label",
    ),
    BadUpload(
        "npz-2d-labels",
        upload("d.npz", npz(X=np.zeros((4, 2)), y=Y.reshape(2, 2))),
        "bad_arrays",
        "1-D",
    ),
    BadUpload(
        "npz-text-features",
        upload("d.npz", npz(X=np.array([["a"], ["b"], ["c"], ["d"]]), y=Y)),
        "bad_feature",
        "not numbers",
    ),
    BadUpload(
        "npz-nan-label",
        upload("d.npz", npz(X=np.zeros((4, 2)), y=np.array([0.0, np.nan, 1.0, 1.0]))),
        "bad_label",
        "NaN",
    ),
    BadUpload(
        "npz-one-class",
        upload("d.npz", npz(X=np.zeros((4, 2)), y=np.zeros(4))),
        "too_few_classes",
        "'0'",
    ),
    BadUpload(
        "npz-header-claims-a-trillion-labels",
        upload("d.npz", npz_with_header_claiming("y", (10**12,), X=np.zeros((4, 2)))),
        "bad_arrays",
        "holds",
    ),
    BadUpload(
        "npz-bomb",
        upload("d.npz", npz(compressed=True, X=np.zeros((400_000, 1)), y=np.arange(400_000) % 2)),
        "archive_too_large",
        "expands past the limit",
    ),
    BadUpload(
        "npz-duplicate-ids",
        upload("d.npz", npz(X=np.zeros((4, 2)), y=Y, ids=np.array(["a", "b", "a", "c"]))),
        "duplicate_id",
        "'a'",
    ),
    BadUpload(
        "npz-data-not-matching-its-checksum",
        upload(
            "d.npz",
            npz(X=np.full((4, 2), 1.5), y=Y).replace(b"\x00\x00\xf8\x3f", b"\x00\x00\xf8\x40", 1),
        ),
        "unreadable_table",
        "Bad CRC",
    ),
]

CONFIGS = [
    BadUpload("config-not-json", with_config("{not json"), "invalid_config", "not valid JSON"),
    BadUpload("config-array", with_config("[1, 2]"), "invalid_config", "JSON object"),
    BadUpload(
        "config-deeply-nested", with_config("[" * 50_000), "invalid_config", "nested too deeply"
    ),
    BadUpload("config-unknown-key", with_config({"colour": "red"}), "invalid_config", "colour"),
    BadUpload("config-k-above-1", with_config({"k": 1.5}), "invalid_config", "k must be in (0, 1)"),
    BadUpload("config-k-zero", with_config({"k": 0}), "invalid_config", "k must be in (0, 1)"),
    BadUpload("config-k-one", with_config({"k": 1}), "invalid_config", "k must be in (0, 1)"),
    BadUpload("config-k-nan", with_config('{"k": NaN}'), "invalid_config", "k must be in (0, 1)"),
    BadUpload(
        "config-epochs-zero",
        with_config({"epochs": 0}),
        "invalid_config",
        "epochs must be between 1 and 1000",
    ),
    BadUpload(
        "config-epochs-million",
        with_config({"epochs": 10**6}),
        "invalid_config",
        "epochs must be between 1 and 1000",
    ),
    BadUpload("config-epochs-text", with_config({"epochs": "ten"}), "invalid_config", "epochs:"),
    BadUpload(
        "config-q-negative", with_config({"q": -0.5}), "invalid_config", "q must be in (0, 1]"
    ),
    BadUpload("config-q-zero", with_config({"q": 0}), "invalid_config", "q must be in (0, 1]"),
    BadUpload("config-unknown-loss", with_config({"loss": "magic"}), "invalid_config", "loss"),
    BadUpload("config-unknown-mode", with_config({"mode": "guess"}), "invalid_config", "mode"),
    BadUpload(
        "config-image-size", with_config({"image_size": 10_000}), "invalid_config", "image_size"
    ),
    BadUpload("config-seed-negative", with_config({"seed": -1}), "invalid_config", "seed"),
    BadUpload(
        "config-window-over-epochs",
        with_config({"epochs": 3, "window": 5}),
        "invalid_config",
        "window (5) cannot exceed epochs (3)",
    ),
    BadUpload(
        "config-name-with-nul", with_config({"name": "line\u00003"}), "invalid_config", "NUL"
    ),
    BadUpload(
        "config-name-lone-surrogate", with_config('{"name": "\\ud800"}'), "invalid_config", "name"
    ),
]

REQUESTS = [
    BadUpload(
        "over-the-size-limit",
        upload(
            "big.csv", lambda settings: b"f1,label\n" + b"1,x\n" * (settings.max_upload_bytes // 4)
        ),
        "upload_too_large",
        "LABELAUDIT_MAX_UPLOAD_BYTES",
        status=413,
    ),
    BadUpload(
        "not-multipart",
        lambda _settings: {"content": b"id,label", "headers": {"Content-Type": "text/csv"}},
        "not_multipart",
        "multipart/form-data",
    ),
    BadUpload(
        "no-file-part",
        lambda _settings: {"data": {"config": "{}"}, "files": {"x": ("x", b"")}},
        "missing_file",
        "'file'",
    ),
    BadUpload("two-file-parts", multipart(TWO_FILE_PARTS), "too_many_files", "one 'file'"),
    BadUpload("config-field-too-large", with_config("x" * 70_000), "field_too_large", "config"),
    BadUpload(
        "multipart-without-closing-boundary",
        multipart(TWO_FILE_PARTS[: TWO_FILE_PARTS.index(b"\r\n--XyZ")]),
        "not_multipart",
        "closing boundary",
    ),
    BadUpload("filename-with-nul", multipart(NUL_FILENAME), "bad_filename", "NUL"),
]

CORPUS = FORMATS + ARCHIVES + IMAGES + TABLES + ARRAYS + CONFIGS + REQUESTS
# The dataset files of the corpus: what the CLI's loader must refuse alike (a NUL in a label
# too: no reader accepts what the database could not store).
DATASET_FILES = frozenset(case.name for case in FORMATS + ARCHIVES + IMAGES + TABLES + ARRAYS)


def through_loader(request: dict[str, Any], folder: Path, settings: Any) -> Dataset | DatasetError:
    """The file of an upload request loaded as the CLI loads it (under the name it was sent
    as, with the request's config columns and the service's limits), or its error."""
    filename, data = request["files"]["file"]
    config = json.loads(request.get("data", {}).get("config", "{}"))
    name = Path(filename.replace("\\", "/")).name
    path = folder / (name or "unnamed")
    path.write_bytes(data)
    try:
        return load_dataset(
            path,
            name=name,
            label_column=config.get("label_column", "label"),
            id_column=config.get("id_column", "id"),
            limits=settings.limits,
        )
    except DatasetError as exc:
        return exc


@dataclass(frozen=True)
class GoodUpload:
    """An unusual upload both must accept, with the classes the label policy gives it.
    ``audited`` ones are also run to the end through the service."""

    name: str
    filename: str
    content: bytes
    classes: list[str]
    audited: bool = False

    def request(self) -> dict[str, Any]:
        # Images train 2 epochs to keep the test fast; tables the default, resolved per kind.
        images = self.filename.lower().endswith(".zip")
        config = {"epochs": 2, "window": 1} if images else {}
        return {
            "files": {"file": (self.filename, self.content)},
            "data": {"config": json.dumps(config)},
        }


def rows(labels: list[str], *, header: str = "id,f1,f2,label", end: str = "\n") -> bytes:
    """A small table with two features, an id and the given labels, written as given."""
    lines = [header] + [f"s{i},{i},{(i * 7) % 5},{label}" for i, label in enumerate(labels)]
    return (end.join(lines) + end).encode()


def cp437(name: str) -> str:
    """A Latin-1 name as zip readers decode a member name stored without the UTF-8 flag."""
    return name.encode("latin-1").decode("cp437")


PIXELS = {i: image_bytes(value=40 + 50 * i) for i in range(4)}
GOOD = [
    GoodUpload(
        "labels-na-null-none",
        "lines.csv",
        rows(["NA", "null", "None", "N/A", "NA", "null", "None", "N/A"]),
        ["N/A", "NA", "None", "null"],
        audited=True,
    ),
    GoodUpload(
        "labels-padded-with-spaces",
        "padded.csv",
        rows([" cat", "cat ", "  cat  ", "dog", " dog", "dog "]),
        ["cat", "dog"],
        audited=True,
    ),
    GoodUpload(
        "utf-8-bom-and-crlf",
        "excel.csv",
        b"\xef\xbb\xbf" + rows(["x", "x", "y", "y"], end="\r\n"),
        ["x", "y"],
        audited=True,
    ),
    GoodUpload("labels-1-and-01", "codes.csv", rows(["1", "01", "1", "01"]), ["01", "1"]),
    GoodUpload("upper-case-extension", "DATA.CSV", rows(["x", "x", "y", "y"]), ["x", "y"]),
    GoodUpload(
        "parquet-float-labels-1.0",
        "codes.parquet",
        parquet({"f1": [1.0, 2.0, 3.0, 4.0], "label": [1.0, 2.0, 1.0, 2.0]}),
        ["1", "2"],
    ),
    GoodUpload(
        "npz-float-labels-1.0",
        "codes.npz",
        npz(X=np.arange(8.0).reshape(4, 2), y=np.array([1.0, 2.0, 1.0, 2.0])),
        ["1", "2"],
    ),
    GoodUpload(
        "zip-latin-1-member-names",
        "old.zip",
        latin1_named_archive({f"{c}/{i}.png": PIXELS[i] for c in ("café", "thé") for i in (0, 1)}),
        [cp437("café"), cp437("thé")],
        audited=True,
    ),
    GoodUpload(
        "zip-upper-case-names",
        "PARTS.ZIP",
        archive({f"{c}/{i}.PNG": PIXELS[i] for c in ("OK", "Scratch") for i in (0, 1)}),
        ["OK", "Scratch"],
    ),
    GoodUpload(
        "zip-exif-rotated-jpeg",
        "phone.zip",
        archive(
            {f"{c}/{i}.jpg": exif_rotated_jpeg(value=60 + 60 * i) for c in "ab" for i in (0, 1)}
        ),
        ["a", "b"],
        audited=True,
    ),
    GoodUpload(
        "zip-members-differ-only-in-case",
        "case.zip",
        archive(
            {
                "ok/a.png": PIXELS[0],
                "ok/A.png": PIXELS[1],
                "bad/b.png": PIXELS[2],
                "bad/B.png": PIXELS[3],
            }
        ),
        ["bad", "ok"],
        audited=True,
    ),
    GoodUpload(
        "zip-class-folder-nested-deeper",
        "nested.zip",
        archive(
            {
                "ok/0.png": PIXELS[0],
                "ok/1.png": PIXELS[1],
                "defects/scratch/0.png": PIXELS[2],
                "defects/scratch/1.png": PIXELS[3],
            }
        ),
        ["defects", "ok"],
    ),
    GoodUpload(
        "zip-labels-file-with-bom-crlf-and-na",
        "listed.zip",
        archive(
            {
                **{f"{i}.png": PIXELS[i] for i in range(4)},
                "labels.csv": (
                    b"\xef\xbb\xbfpath,label\r\n0.png, NA\r\n1.png,NA\r\n2.png,ok\r\n3.png,ok \r\n"
                ),
            }
        ),
        ["NA", "ok"],
    ),
]
