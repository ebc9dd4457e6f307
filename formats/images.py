"""Image datasets, a zip archive or a directory: indexed and labelled (one folder per class,
or a ``labels.csv``) and checked image by image.

:func:`index_images` lists and labels the images after the archive checks; :func:`inspect`
reads every header (and, to check an upload, every image whole). Decoding them into an
array is :mod:`.decoding`'s.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

import numpy as np
import pandas as pd
from PIL import Image, ImageOps, UnidentifiedImageError

from .archives import (
    ZIP_ERRORS,
    bad_zip,
    check_members,
    is_ignored,
    list_zip,
    unsafe_path_reason,
    walk_directory,
)
from .errors import DatasetError
from .labels import check_storable, label_texts
from .limits import Limits
from .tables import ENCODING

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp"})
# Formats Pillow may use; keeping out EPS and friends means no external decoder ever runs.
PILLOW_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "GIF", "WEBP")
_FORMAT_NAMES = "PNG, JPEG, BMP, TIFF, GIF or WebP"
LABELS_FILE = "labels.csv"
_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N"})
_COLOUR_MODES = frozenset({"RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"})


@dataclass(frozen=True)
class ImageIndex:
    """The images of a dataset, before decoding.

    Attributes
    ----------
    source : Path
        The zip archive or directory.
    is_zip : bool
    paths : tuple of str
        ``(n,)`` member paths relative to ``source``, with forward slashes, sorted.
    labels : tuple of str
        ``(n,)`` each image's class name (its folder or its ``labels.csv`` entry).
    fingerprint : str
        Changes whenever an image may have changed (size and mtime of the files).
    """

    source: Path
    is_zip: bool
    paths: tuple[str, ...]
    labels: tuple[str, ...]
    fingerprint: str


def index_images(source: Path, limits: Limits) -> ImageIndex:
    """List the images of a zip archive or a directory and label them.

    Raises
    ------
    DatasetError
        On an unsafe or corrupt archive, an unknown layout, or no images.
    """
    is_zip = not source.is_dir()
    files, fingerprint = list_zip(source, limits) if is_zip else walk_directory(source, limits)
    kept = [f for f in files if not is_ignored(f)]
    images = sorted(f for f in kept if is_image(f))
    if not images:
        formats = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise DatasetError(f"no images found (supported: {formats})", code="empty_archive")
    label_files = [f for f in kept if PurePosixPath(f).name.lower() == LABELS_FILE]
    if len(label_files) > 1:
        raise DatasetError(
            f"several {LABELS_FILE} files: {', '.join(label_files)}", code="bad_labels_file"
        )
    if label_files:
        with opener(source, is_zip) as open_member, open_member(label_files[0]) as handle:
            labels = _labels_from_csv(label_files[0], handle.read(), images)
    else:
        labels = _labels_from_folders(images)
    # The member paths are the sample ids.
    check_storable(images, lambda i: {"member": images[i]}, what="id")
    return ImageIndex(source, is_zip, tuple(images), tuple(labels), fingerprint)


def is_image(path: str) -> bool:
    return PurePosixPath(path).suffix.lower() in IMAGE_EXTENSIONS


def _labels_from_folders(images: list[str]) -> list[str]:
    """The class of each image is the first folder below the folders common to all
    (``NEU/scratch/x.bmp`` is a ``scratch``); deeper folders belong to that class."""
    parts = [path.split("/") for path in images]
    depth = 0
    while all(len(p) >= depth + 3 for p in parts) and len({p[depth] for p in parts}) == 1:
        depth += 1
    for path, p in zip(images, parts, strict=True):
        if len(p) < depth + 2:
            raise DatasetError(
                f"{path} is not inside a class folder; put each class's images in a folder "
                f"named after the class, or add a {LABELS_FILE} with columns path,label",
                code="missing_label",
                member=path,
            )
    folders = np.array([p[depth] for p in parts], dtype=object)
    return label_texts(folders, lambda i: {"member": images[i]}).tolist()


def _labels_from_csv(labels_path: str, data: bytes, images: list[str]) -> list[str]:
    try:
        table = pd.read_csv(
            io.BytesIO(data), dtype=str, keep_default_na=False, index_col=False, encoding=ENCODING
        )
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first_line = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise DatasetError(
            f"{labels_path} is not a UTF-8 CSV ({first_line})",
            code="bad_labels_file",
            member=labels_path,
        ) from None
    if not {"path", "label"} <= set(table.columns):
        found = ", ".join(map(str, table.columns[:10]))
        raise DatasetError(
            f"{labels_path} needs columns path and label; found: {found}",
            code="bad_labels_file",
            member=labels_path,
        )
    labels = label_texts(table["label"].to_numpy(), lambda i: {"member": labels_path, "row": i + 1})
    base = PurePosixPath(labels_path).parent
    wanted: dict[str, str] = {}
    for row, (raw, label) in enumerate(zip(table["path"], labels, strict=True), start=1):
        relative = raw.strip().replace("\\", "/").removeprefix("./")
        problem = unsafe_path_reason(relative)
        if problem:
            raise DatasetError(
                f"{labels_path} row {row}: path {raw!r} is unsafe: {problem}",
                code="bad_labels_file",
                member=labels_path,
                row=row,
            )
        member = (base / relative).as_posix()
        if member in wanted:
            raise DatasetError(
                f"{labels_path} row {row}: {raw} is listed twice",
                code="bad_labels_file",
                member=labels_path,
                row=row,
            )
        wanted[member] = str(label)
    present = set(images)
    listed_absent = next((member for member in wanted if member not in present), None)
    if listed_absent is not None:
        raise DatasetError(
            f"{labels_path} lists {listed_absent}, which is not among the images",
            code="bad_labels_file",
            member=labels_path,
        )
    unlisted = next((member for member in images if member not in wanted), None)
    if unlisted is not None:
        raise DatasetError(
            f"{labels_path}: image {unlisted} is not listed", code="missing_label", member=unlisted
        )
    return [wanted[member] for member in images]


@contextmanager
def opener(source: Path, is_zip: bool) -> Iterator[Callable[[str], IO[bytes]]]:
    if not is_zip:
        yield lambda member: open(source / member, "rb")  # noqa: SIM115
        return
    try:
        with zipfile.ZipFile(source) as archive:
            yield archive.open
    except ZIP_ERRORS as exc:
        raise bad_zip(exc) from None


@contextmanager
def open_image(
    open_member: Callable[[str], IO[bytes]], member: str, limits: Limits
) -> Iterator[Image.Image]:
    """Open one image's header, refusing pixel counts over the limit before any decoding.

    Errors raised while the caller decodes the image are reported as that image's too.
    """
    try:
        with open_member(member) as stream, warnings.catch_warnings():
            # Our own limit below replaces Pillow's process-wide MAX_IMAGE_PIXELS check.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(stream, formats=PILLOW_FORMATS) as image:
                width, height = image.size
                if width * height > limits.max_image_pixels:
                    raise DatasetError(
                        f"image {member} is {width}x{height}, over the limit of "
                        f"{limits.max_image_pixels} pixels (decompression bomb?)",
                        code="image_too_large",
                        member=member,
                        limit=limits.max_image_pixels,
                    )
                yield image
    except DatasetError:
        raise
    except Image.DecompressionBombError:
        raise DatasetError(
            f"image {member} has more pixels than any image may have (decompression bomb?); "
            f"the limit is {limits.max_image_pixels} pixels",
            code="image_too_large",
            member=member,
            limit=limits.max_image_pixels,
        ) from None
    except UnidentifiedImageError:
        # Pillow's own message shows the stream's repr, which means nothing to a user.
        raise DatasetError(
            f"image {member} is not a {_FORMAT_NAMES} image: its content matches none of "
            "them (a damaged file, or another kind of file with an image's name)",
            code="unreadable_image",
            member=member,
        ) from None
    # Decoders raise many exception types on malformed files; every one means a bad image.
    except Exception as exc:
        raise DatasetError(
            f"image {member} is unreadable or truncated ({exc or type(exc).__name__})",
            code="unreadable_image",
            member=member,
        ) from None


def inspect(
    index: ImageIndex,
    *,
    limits: Limits,
    verify: bool = False,
    interrupt: Callable[[], None] | None = None,
) -> tuple[float, bool]:
    """Read every image's header: return the median of all image widths and heights and
    whether the set is grayscale. With ``verify`` every image is also decoded once (a
    truncated JPEG shows only then), which is how an upload is checked without decoding
    into an array. ``interrupt`` is called before each image and may raise to stop.
    """
    sides: list[int] = []
    first: dict[bool, str] = {}
    with opener(index.source, index.is_zip) as open_member:
        for member in index.paths:
            if interrupt is not None:
                interrupt()
            with open_image(open_member, member, limits) as image:
                sides.extend(image.size)
                first.setdefault(is_gray(image, member), member)
                # PNG's checksums find truncation without decoding (a decoder may not notice
                # a cut-off end); other formats show it only when decoded, which loading does
                # anyway and checking does here.
                if image.format == "PNG":
                    image.verify()
                elif verify:
                    image.load()
    if len(first) == 2:
        raise DatasetError(
            f"mixed image modes: {first[True]} is grayscale, {first[False]} is colour; "
            "convert them all to one mode",
            code="mixed_image_modes",
        )
    return float(np.median(sides)), True in first


def default_side(median_side: float, *, max_side: int) -> int:
    """The side images are resized to when none is set: their median side, rounded to a
    multiple of 4 and clipped to [16, ``max_side``]."""
    return int(np.clip(4 * np.floor(median_side / 4 + 0.5), 16, max(max_side, 16)))


def is_gray(image: Image.Image, member: str) -> bool:
    """Whether ``image`` is read as grayscale; refuse the pixel formats that cannot be."""
    if image.mode in _GRAY_MODES:
        return True
    if image.mode in _COLOUR_MODES:
        return False
    if image.mode in ("P", "PA"):
        palette = image.palette
        if palette is None or not palette.mode.startswith("RGB"):
            return False
        entries = np.frombuffer(bytes(palette.palette), np.uint8)
        width = len(palette.mode)
        rgb = entries[: entries.size // width * width].reshape(-1, width)[:, :3]
        return bool((rgb == rgb[:, :1]).all())
    raise DatasetError(
        f"image {member} has pixel format {image.mode}, which cannot be audited; save it as "
        "8- or 16-bit grayscale or as colour",
        code="unsupported_image_mode",
        member=member,
    )


def displayable(image: Image.Image, *, gray: bool | None = None) -> Image.Image:
    """``image`` upright (its EXIF orientation applied) as 8-bit gray or RGB; 16- and 32-bit
    gray are scaled 0..65535 to 0..255 rather than clipped. What the model sees and what a
    reviewer is shown are the same pixels."""
    upright = ImageOps.exif_transpose(image) or image
    if gray is None:
        gray = is_gray(upright, "")
    if not gray:
        return upright.convert("RGB")
    if upright.mode.startswith("I"):
        wide = np.clip(np.asarray(upright, dtype=np.int64), 0, 65535)
        return Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8))
    return upright.convert("L")


def read_member(source: Path, image_path: str, *, limits: Limits, max_bytes: int | None) -> bytes:
    """The raw bytes of one image of a zip archive or directory (see
    :func:`formats.read_image_bytes`)."""
    problem = unsafe_path_reason(image_path) or ("backslash" if "\\" in image_path else None)
    if problem:
        raise DatasetError(f"refusing path {image_path!r}: {problem}", code="unsafe_archive_path")
    if not is_image(image_path) or is_ignored(image_path):
        raise DatasetError(f"{image_path} is not an image of the dataset", code="no_image")
    if source.is_dir():
        root = source.resolve()
        target = (root / image_path).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise DatasetError(f"no image {image_path}", code="no_image")
        _check_size(image_path, target.stat().st_size, max_bytes)
        return target.read_bytes()
    try:
        with zipfile.ZipFile(source) as archive:
            try:
                info = archive.getinfo(image_path)
            except KeyError:
                raise DatasetError(f"no image {image_path}", code="no_image") from None
            check_members([info], limits)
            _check_size(image_path, info.file_size, max_bytes)
            return archive.read(info)
    except ZIP_ERRORS as exc:
        raise bad_zip(exc) from None


def _check_size(image_path: str, size: int, max_bytes: int | None) -> None:
    if max_bytes is not None and size > max_bytes:
        raise DatasetError(
            f"image {image_path!r} is too large to show", code="image_too_large", member=image_path
        )
