"""Image archives (.zip): safety and readability checks, and reading one image back.

The rules follow the engine's (``worker/engine/images.py``), which the API cannot import:
one folder per class (``scratch/img001.png``, common top folders stripped) or images plus
one ``labels.csv`` with ``path,label`` columns; hidden files and ``__MACOSX`` ignored.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
from PIL import Image

from ..errors import InvalidInput
from .models import MAX_SAMPLE_ID_CHARS

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp"})
# Pillow 13 registers no "MPO" opener: naming it made every BMP, TIFF, GIF and WebP unreadable.
PILLOW_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "GIF", "WEBP")
NESTED_ARCHIVES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")
IGNORED_NAMES = frozenset({"__macosx", "thumbs.db", "desktop.ini"})
LABELS_FILE = "labels.csv"
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N"})
COLOUR_MODES = frozenset({"RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"})
# Members smaller than this cannot inflate into anything harmful, whatever their ratio.
RATIO_MIN_BYTES = 1 << 20


@dataclass(frozen=True)
class UploadLimits:
    """What an upload may hold: archives (and npz files, which are zips), images, tables."""

    max_expanded_bytes: int
    max_members: int
    max_image_pixels: int
    max_columns: int
    max_ratio: float = 200.0


def _bad(message: str, code: str, **details: object) -> InvalidInput:
    return InvalidInput(message, code=code, details=details or None)


def is_ignored(path: str) -> bool:
    parts = path.rstrip("/").split("/")
    return any(part.startswith(".") or part.lower() in IGNORED_NAMES for part in parts)


def unsafe_path_reason(path: str) -> str | None:
    if not path or "\0" in path:
        return "empty name or NUL character"
    if path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", path):
        return "absolute path"
    if ".." in re.split(r"[/\\]", path):
        return "'..' component"
    return None


def check_image_archive(path: Path, limits: UploadLimits) -> Counter[str]:
    """Check every member of an image zip and count the images per class."""
    try:
        with zipfile.ZipFile(path) as archive:
            files = check_members(archive.infolist(), limits)
            kept = [name for name in files if not is_ignored(name)]
            nested = [name for name in kept if name.lower().endswith(NESTED_ARCHIVES)]
            if nested:
                raise _bad(f"nested archives are not supported: {nested[0]}", "bad_archive")
            images = sorted(n for n in kept if PurePosixPath(n).suffix.lower() in IMAGE_SUFFIXES)
            if not images:
                raise _bad("the archive holds no images (.png, .jpg, ...)", "empty_archive")
            label_files = [n for n in kept if PurePosixPath(n).name.lower() == LABELS_FILE]
            if len(label_files) > 1:
                raise _bad(f"several {LABELS_FILE} files: {', '.join(label_files)}", "bad_archive")
            if label_files:
                labels = _labels_from_csv(label_files[0], archive.read(label_files[0]), images)
            else:
                labels = _labels_from_folders(images)
            long_path = next((name for name in images if len(name) > MAX_SAMPLE_ID_CHARS), None)
            if long_path is not None:
                raise _bad(
                    f"image path {long_path[:80]}... is over {MAX_SAMPLE_ID_CHARS} characters",
                    "bad_archive",
                )
            _check_images(archive, images, limits)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise _bad(f"not a readable zip archive: {exc}", "bad_archive") from None
    return Counter(labels)


def check_members(infos: list[zipfile.ZipInfo], limits: UploadLimits) -> list[str]:
    """Refuse unsafe paths, links, encryption, duplicates and zip bombs; return the files."""
    if len(infos) > limits.max_members:
        raise _bad(
            f"the archive has {len(infos)} members, over the limit of {limits.max_members}",
            "archive_too_large",
        )
    seen: set[str] = set()
    expanded = 0
    for info in infos:
        name = info.filename
        problem = unsafe_path_reason(name)
        if problem:
            raise _bad(f"unsafe path in the archive: {name!r} ({problem})", "unsafe_archive_path")
        if name in seen:
            raise _bad(f"member {name!r} appears twice in the archive", "bad_archive")
        seen.add(name)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise _bad(f"symbolic links are not supported: {name}", "bad_archive")
        if info.flag_bits & 0x1:
            raise _bad(f"encrypted members are not supported: {name}", "bad_archive")
        expanded += info.file_size
        if expanded > limits.max_expanded_bytes:
            raise _bad(
                f"the archive expands past the limit of {limits.max_expanded_bytes} bytes "
                "(LABELAUDIT_MAX_EXPANDED_BYTES)",
                "archive_too_large",
            )
        ratio_limit = limits.max_ratio * max(info.compress_size, 1)
        if info.file_size > RATIO_MIN_BYTES and info.file_size > ratio_limit:
            raise _bad(
                f"member {name!r} inflates more than {limits.max_ratio:g} times (zip bomb?)",
                "archive_too_large",
            )
    return [info.filename for info in infos if not info.is_dir()]


def _labels_from_folders(images: list[str]) -> list[str]:
    parts = [path.split("/") for path in images]
    depth = 0
    # Strip common top folders (``NEU/scratch/x.bmp``) while a class folder remains below.
    while all(len(p) >= depth + 3 for p in parts) and len({p[depth] for p in parts}) == 1:
        depth += 1
    for path, p in zip(images, parts, strict=True):
        if len(p) < depth + 2:
            raise _bad(
                f"{path} is not inside a class folder; put each class's images in a folder "
                f"named after the class, or add a {LABELS_FILE} with columns path,label",
                "missing_label",
                member=path,
            )
    return [p[depth] for p in parts]


def _labels_from_csv(labels_path: str, data: bytes, images: list[str]) -> list[str]:
    try:
        table = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, index_col=False)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise _bad(f"{labels_path} is not a UTF-8 CSV ({exc})", "bad_labels_file") from None
    if not {"path", "label"} <= set(table.columns):
        found = ", ".join(map(str, table.columns[:10]))
        raise _bad(f"{labels_path} needs columns path and label; found: {found}", "bad_labels_file")
    base = PurePosixPath(labels_path).parent
    wanted: dict[str, str] = {}
    for row, (raw, label) in enumerate(zip(table["path"], table["label"], strict=True), start=1):
        relative = raw.strip().replace("\\", "/").removeprefix("./")
        problem = unsafe_path_reason(relative)
        if problem:
            raise _bad(
                f"{labels_path} row {row}: path {raw!r} is unsafe: {problem}", "bad_labels_file"
            )
        if not label.strip():
            raise _bad(f"{labels_path} row {row}: the label of {raw} is empty", "missing_label")
        member = (base / relative).as_posix()
        if member in wanted:
            raise _bad(f"{labels_path} row {row}: {raw} is listed twice", "bad_labels_file")
        wanted[member] = label.strip()
    present = set(images)
    for member in wanted:
        if member not in present:
            raise _bad(
                f"{labels_path} lists {member}, which is not among the images", "bad_labels_file"
            )
    unlisted = [member for member in images if member not in wanted]
    if unlisted:
        raise _bad(f"{labels_path}: image {unlisted[0]} is not listed", "missing_label")
    return [wanted[member] for member in images]


def _check_images(archive: zipfile.ZipFile, images: list[str], limits: UploadLimits) -> None:
    """Every image reads whole, is within the pixel limit, and all are gray or all colour."""
    first: dict[bool, str] = {}
    for member in images:
        try:
            with (
                archive.open(member) as stream,
                Image.open(stream, formats=PILLOW_FORMATS) as image,
            ):
                width, height = image.size
                if width * height > limits.max_image_pixels:
                    raise _bad(
                        f"image {member} is {width}x{height}, over the limit of "
                        f"{limits.max_image_pixels} pixels",
                        "image_too_large",
                        member=member,
                    )
                first.setdefault(is_gray(image, member), member)
                # PNG's checksums find truncation without decoding; other formats need one.
                if image.format == "PNG":
                    image.verify()
                else:
                    image.load()
        except InvalidInput:
            raise
        except Image.DecompressionBombError:
            raise _bad(
                f"image {member} has more pixels than any image may have (decompression bomb?); "
                f"the limit is {limits.max_image_pixels} pixels",
                "image_too_large",
                member=member,
            ) from None
        # Decoders raise many exception types on malformed files; each means a bad image.
        except Exception as exc:
            raise _bad(
                f"image {member} is unreadable or truncated ({exc or type(exc).__name__})",
                "unreadable_image",
                member=member,
            ) from None
    if len(first) == 2:
        raise _bad(
            f"mixed image modes: {first[True]} is grayscale, {first[False]} is colour; "
            "convert them all to one mode",
            "mixed_image_modes",
        )


def is_gray(image: Image.Image, member: str) -> bool:
    """Whether the engine reads ``image`` as grayscale; refuse the modes it cannot read."""
    if image.mode in GRAY_MODES:
        return True
    if image.mode in COLOUR_MODES:
        return False
    if image.mode in ("P", "PA"):
        palette = image.palette
        if palette is None or not palette.mode.startswith("RGB"):
            return False
        entries = np.frombuffer(bytes(palette.palette), np.uint8)
        width = len(palette.mode)
        rgb = entries[: entries.size // width * width].reshape(-1, width)[:, :3]
        return bool((rgb == rgb[:, :1]).all())
    raise _bad(
        f"image {member} has pixel format {image.mode}, which cannot be audited; save it as "
        "8- or 16-bit grayscale or as colour",
        "unsupported_image_mode",
        member=member,
    )


def displayable(image: Image.Image) -> Image.Image:
    """``image`` as 8-bit gray or RGB, 16- and 32-bit gray scaled like the engine scales it
    (0..65535 to 0..255) rather than clipped."""
    if image.mode.startswith("I"):
        wide = np.clip(np.asarray(image, dtype=np.int64), 0, 65535)
        return Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8))
    return image.convert("L" if is_gray(image, "") else "RGB")


def read_member(path: Path, name: str, max_bytes: int) -> bytes:
    """One file of a stored archive, refusing one that expands past ``max_bytes``."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
        if info.file_size > max_bytes:
            raise _bad(f"image {name!r} is too large to show", "image_too_large")
        return archive.read(info)
