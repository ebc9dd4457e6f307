"""Image datasets: zip archives and directories, checked, indexed, decoded and cached.

:func:`index_images` lists an archive or directory (after the zip safety checks) and works
out each image's label; :func:`decode_images` turns the index into a ``(n, S, S, C)`` uint8
array, optionally through a memmap cache. Nothing is ever extracted to disk.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING

import numpy as np
import pandas as pd
from PIL import Image

from .dataset import DatasetError

if TYPE_CHECKING:
    from .dataset import DataLimits

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp"})
# Formats Pillow may use; keeping out EPS and friends means no external decoder ever runs.
_PILLOW_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "GIF", "WEBP")
_ARCHIVE_EXTENSIONS = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")
_IGNORED_NAMES = frozenset({"__macosx", "thumbs.db", "desktop.ini"})
LABELS_FILE = "labels.csv"
# Members this small cannot inflate into anything harmful, and blank BMPs or TIFFs of a few
# hundred KB legitimately compress far beyond any sane ratio cap.
_RATIO_MIN_BYTES = 1 << 20
_CACHE_VERSION = 1
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


def index_images(source: Path, limits: DataLimits) -> ImageIndex:
    """List the images of a zip archive or a directory and label them.

    Raises
    ------
    DatasetError
        On an unsafe or corrupt archive, an unknown layout, or no images.
    """
    if source.is_dir():
        files, fingerprint = _walk_directory(source, limits)
        return _index(source, False, files, fingerprint, lambda f: (source / f).read_bytes())
    try:
        with zipfile.ZipFile(source) as archive:
            files = check_zip_members(archive.infolist(), source.name, limits)
            for member in files:
                if _is_ignored(member):
                    continue
                if member.lower().endswith(_ARCHIVE_EXTENSIONS):
                    raise DatasetError(
                        f"{source.name}: nested archives are not supported: {member}"
                    )
            status = source.stat()
            fingerprint = f"zip:{status.st_size}:{status.st_mtime_ns}"
            return _index(source, True, files, fingerprint, archive.read)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(f"{source.name}: not a valid zip archive ({exc})") from exc


def check_zip_members(infos: Sequence[zipfile.ZipInfo], name: str, limits: DataLimits) -> list[str]:
    """Check the members of an archive before anything is read; return the file members.

    Rejects paths that escape the archive, symbolic links, encrypted members, too many
    members, a total uncompressed size over ``limits.max_archive_bytes`` and members that
    inflate more than ``limits.max_ratio`` times (zip bombs).
    """
    if len(infos) > limits.max_members:
        raise DatasetError(f"{name}: has {len(infos)} members; the limit is {limits.max_members}")
    total = 0
    seen: set[str] = set()
    files = []
    for info in infos:
        member = info.filename
        problem = unsafe_path_reason(member)
        if problem:
            raise DatasetError(f"{name}: unsafe member {member!r}: {problem}")
        if member in seen:
            raise DatasetError(f"{name}: member {member!r} appears twice")
        seen.add(member)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DatasetError(f"{name}: symbolic links are not supported: {member}")
        if info.flag_bits & 0x1:
            raise DatasetError(f"{name}: encrypted members are not supported: {member}")
        total += info.file_size
        if total > limits.max_archive_bytes:
            raise DatasetError(
                f"{name}: uncompressed size exceeds the limit of {limits.max_archive_bytes} "
                f"bytes (reached at member {member})"
            )
        if info.file_size > _RATIO_MIN_BYTES and (
            info.file_size > limits.max_ratio * max(info.compress_size, 1)
        ):
            ratio = info.file_size / max(info.compress_size, 1)
            raise DatasetError(
                f"{name}: member {member} inflates {ratio:.0f} times, more than the limit of "
                f"{limits.max_ratio:g} (zip bomb?)"
            )
        if not info.is_dir():
            files.append(member)
    return files


def unsafe_path_reason(path: str) -> str | None:
    """Why ``path`` could escape its archive or directory, or None when it is safe."""
    if not path or "\0" in path:
        return "empty name or NUL character"
    if path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", path):
        return "absolute path"
    if ".." in re.split(r"[/\\]", path):
        return "'..' component"
    return None


def _walk_directory(root: Path, limits: DataLimits) -> tuple[list[str], str]:
    files: list[str] = []
    digest = hashlib.sha256()
    pending = [root]
    while pending:
        folder = pending.pop()
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                relative = Path(entry.path).relative_to(root).as_posix()
                if _is_ignored(relative):
                    continue
                if entry.is_symlink():
                    raise DatasetError(f"{root.name}: symbolic links are not supported: {relative}")
                if entry.is_dir():
                    pending.append(Path(entry.path))
                elif entry.is_file():
                    files.append(relative)
                    status = entry.stat()
                    digest.update(f"{relative}\0{status.st_size}\0{status.st_mtime_ns}\n".encode())
                    if len(files) > limits.max_members:
                        raise DatasetError(f"{root.name}: has more than {limits.max_members} files")
    return files, "dir:" + digest.hexdigest()


def _is_ignored(path: str) -> bool:
    parts = path.rstrip("/").split("/")
    return any(part.startswith(".") or part.lower() in _IGNORED_NAMES for part in parts)


def _is_image(path: str) -> bool:
    return PurePosixPath(path).suffix.lower() in IMAGE_EXTENSIONS


def _index(
    source: Path,
    is_zip: bool,
    files: list[str],
    fingerprint: str,
    read: Callable[[str], bytes],
) -> ImageIndex:
    kept = [f for f in files if not _is_ignored(f)]
    images = sorted(f for f in kept if _is_image(f))
    label_files = [f for f in kept if PurePosixPath(f).name.lower() == LABELS_FILE]
    if not images:
        raise DatasetError(
            f"{source.name}: no images found (supported: {', '.join(sorted(IMAGE_EXTENSIONS))})"
        )
    if len(label_files) > 1:
        raise DatasetError(f"{source.name}: several {LABELS_FILE} files: {', '.join(label_files)}")
    if label_files:
        labels = _labels_from_csv(source.name, label_files[0], read(label_files[0]), images)
    else:
        labels = _labels_from_folders(source.name, images)
    return ImageIndex(source, is_zip, tuple(images), tuple(labels), fingerprint)


def _labels_from_folders(name: str, images: list[str]) -> list[str]:
    parts = [path.split("/") for path in images]
    depth = 0
    # Strip common top folders (``NEU/scratch/x.bmp``) while a class folder remains below them.
    while all(len(p) >= depth + 3 for p in parts) and len({p[depth] for p in parts}) == 1:
        depth += 1
    for path, p in zip(images, parts, strict=True):
        if len(p) < depth + 2:
            raise DatasetError(
                f"{name}: {path} is not inside a class folder; put each class's images in a "
                f"folder named after the class, or add a {LABELS_FILE} with columns path,label"
            )
    return [p[depth] for p in parts]


def _labels_from_csv(name: str, labels_path: str, data: bytes, images: list[str]) -> list[str]:
    where = f"{name}: {labels_path}"
    try:
        table = pd.read_csv(
            io.BytesIO(data), dtype=str, keep_default_na=False, index_col=False, encoding="utf-8"
        )
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatasetError(f"{where}: cannot be read as UTF-8 CSV ({first_line})") from exc
    missing = [c for c in ("path", "label") if c not in table.columns]
    if missing:
        found = ", ".join(map(str, table.columns[:10]))
        raise DatasetError(f"{where}: needs columns path and label; found: {found}")
    base = PurePosixPath(labels_path).parent
    wanted: dict[str, str] = {}
    for row, (raw, label) in enumerate(zip(table["path"], table["label"], strict=True), start=1):
        relative = raw.strip().replace("\\", "/").removeprefix("./")
        problem = unsafe_path_reason(relative)
        if problem:
            raise DatasetError(f"{where}: row {row}: path {raw!r} is unsafe: {problem}")
        if not label.strip():
            raise DatasetError(f"{where}: row {row}: the label of {raw} is empty")
        member = (base / relative).as_posix()
        if member in wanted:
            raise DatasetError(f"{where}: {raw} is listed twice")
        wanted[member] = label.strip()
    present = set(images)
    for member in wanted:
        if member not in present:
            raise DatasetError(f"{where}: lists {member}, which is not among the images")
    for member in images:
        if member not in wanted:
            raise DatasetError(f"{where}: image {member} is not listed")
    return [wanted[member] for member in images]


def decode_images(
    index: ImageIndex,
    *,
    image_size: int | None,
    cache_dir: Path | None,
    limits: DataLimits,
) -> np.ndarray:
    """Decode every image of ``index`` into a ``(n, S, S, C)`` uint8 array.

    ``S`` is ``image_size``, or when None the median of all image widths and heights,
    rounded to a multiple of 4 and clipped to [16, 64]. ``C`` is 1 when every image is
    grayscale and 3 when every image is colour. With ``cache_dir`` the result is a read-only
    memmap of ``cache_dir/<key>.u8``, reused by later calls for the same files and size.
    """
    if cache_dir is None:
        size, gray = _inspect(index, image_size, limits)
        shape = (len(index.paths), size, size, 1 if gray else 3)
        images = np.empty(shape, np.uint8)
        _decode_into(images, index, gray, limits)
        return images
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = _cache_key(index, image_size)
    data_path = cache_dir / f"{key}.u8"
    meta_path = cache_dir / f"{key}.json"
    cached = _read_cache(index, data_path, meta_path)
    if cached is not None:
        return cached
    size, gray = _inspect(index, image_size, limits)
    shape = (len(index.paths), size, size, 1 if gray else 3)
    handle, data_tmp = tempfile.mkstemp(dir=cache_dir, prefix=f"{key}.", suffix=".tmp")
    os.close(handle)
    meta_tmp = f"{data_tmp}.json"
    try:
        # Decoding into the file, not RAM, keeps a large set's footprint at one image.
        images = np.memmap(data_tmp, dtype=np.uint8, mode="w+", shape=shape)
        _decode_into(images, index, gray, limits)
        images.flush()
        del images
        meta = {"shape": shape, "paths": index.paths, "labels": index.labels}
        Path(meta_tmp).write_text(json.dumps(meta))
        # The sidecar goes last: a data file without its sidecar is never trusted.
        os.replace(data_tmp, data_path)
        os.replace(meta_tmp, meta_path)
    finally:
        for leftover in (data_tmp, meta_tmp):
            with suppress(FileNotFoundError):
                os.remove(leftover)
    return np.memmap(data_path, dtype=np.uint8, mode="r", shape=shape)


def _cache_key(index: ImageIndex, image_size: int | None) -> str:
    parts = [_CACHE_VERSION, str(index.source.resolve()), index.fingerprint, image_size]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _read_cache(index: ImageIndex, data_path: Path, meta_path: Path) -> np.memmap | None:
    try:
        meta = json.loads(meta_path.read_text())
        shape = tuple(int(s) for s in meta["shape"])
        valid = (
            len(shape) == 4
            and tuple(meta["paths"]) == index.paths
            and tuple(meta["labels"]) == index.labels
            and data_path.stat().st_size == int(np.prod(shape))
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return np.memmap(data_path, dtype=np.uint8, mode="r", shape=shape) if valid else None


@contextmanager
def _opener(index: ImageIndex) -> Iterator[Callable[[str], IO[bytes]]]:
    if index.is_zip:
        with zipfile.ZipFile(index.source) as archive:
            yield archive.open
    else:
        yield lambda member: open(index.source / member, "rb")  # noqa: SIM115


@contextmanager
def _open_image(
    open_member: Callable[[str], IO[bytes]], member: str, name: str, limits: DataLimits
) -> Iterator[Image.Image]:
    """Open one image's header, refusing pixel counts over the limit before any decoding.

    Errors raised while the caller decodes the image are reported as that image's too.
    """
    try:
        with open_member(member) as stream, warnings.catch_warnings():
            # Our own limit below replaces Pillow's process-wide MAX_IMAGE_PIXELS check.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(stream, formats=_PILLOW_FORMATS) as image:
                width, height = image.size
                if width * height > limits.max_image_pixels:
                    raise DatasetError(
                        f"{name}: {member}: {width}x{height} pixels is more than the limit of "
                        f"{limits.max_image_pixels} (decompression bomb?)"
                    )
                yield image
    except DatasetError:
        raise
    except Image.UnidentifiedImageError as exc:
        formats = ", ".join(sorted(e.lstrip(".") for e in IMAGE_EXTENSIONS))
        raise DatasetError(
            f"{name}: {member}: not a readable image (supported: {formats})"
        ) from exc
    except Image.DecompressionBombError as exc:
        raise DatasetError(
            f"{name}: {member}: too many pixels (decompression bomb?): {exc}"
        ) from exc
    # Decoders raise many exception types on malformed files; every one means a bad image.
    except Exception as exc:
        raise DatasetError(
            f"{name}: {member}: not a readable image ({exc or type(exc).__name__})"
        ) from exc


def _inspect(index: ImageIndex, image_size: int | None, limits: DataLimits) -> tuple[int, bool]:
    """Read every header: return the side length and whether the set is grayscale."""
    sides: list[int] = []
    first: dict[bool, str] = {}
    with _opener(index) as open_member:
        for member in index.paths:
            with _open_image(open_member, member, index.source.name, limits) as image:
                sides.extend(image.size)
                first.setdefault(_is_gray(image, f"{index.source.name}: {member}"), member)
    if len(first) == 2:
        raise DatasetError(
            f"{index.source.name}: mixed image modes: {first[True]} is grayscale, "
            f"{first[False]} is colour; convert them all to one mode"
        )
    if image_size is None:
        image_size = int(np.clip(4 * np.floor(np.median(sides) / 4 + 0.5), 16, 64))
    return image_size, True in first


def _is_gray(image: Image.Image, where: str) -> bool:
    if image.mode in _GRAY_MODES:
        return True
    if image.mode in _COLOUR_MODES:
        return False
    if image.mode in ("P", "PA"):
        palette = image.palette
        if palette is None or not palette.mode.startswith("RGB"):
            return False
        entries = np.frombuffer(bytes(palette.palette), np.uint8)
        rgb = entries[: entries.size // len(palette.mode) * len(palette.mode)]
        rgb = rgb.reshape(-1, len(palette.mode))[:, :3]
        return bool((rgb == rgb[:, :1]).all())
    raise DatasetError(f"{where}: unsupported pixel format {image.mode}")


def _decode_into(out: np.ndarray, index: ImageIndex, gray: bool, limits: DataLimits) -> None:
    """Decode image ``i`` of ``index`` into ``out[i]``, an ``(n, S, S, C)`` uint8 array."""
    size = out.shape[1]
    with _opener(index) as open_member:
        for i, member in enumerate(index.paths):
            with _open_image(open_member, member, index.source.name, limits) as image:
                # JPEG can decode at 1/2, 1/4 or 1/8 scale, which is much faster.
                image.draft(None, (size, size))
                image.load()
                converted = _to_gray(image) if gray else image.convert("RGB")
                resized = converted.resize((size, size), Image.Resampling.BILINEAR)
                out[i] = np.asarray(resized).reshape(out.shape[1:])


def _to_gray(image: Image.Image) -> Image.Image:
    if image.mode.startswith("I"):
        # 16-bit (and 32-bit integer) gray keeps its full range: scale 0..65535 to 0..255.
        wide = np.clip(np.asarray(image, dtype=np.int64), 0, 65535)
        return Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8))
    return image.convert("L")


def resize_images(stack: np.ndarray, size: int) -> np.ndarray:
    """Resize ``(n, H, W, C)`` uint8 images to ``(n, size, size, C)`` like decoded ones."""
    out = np.empty((stack.shape[0], size, size, stack.shape[3]), np.uint8)
    for i, pixels in enumerate(stack):
        image = Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)
        resized = image.resize((size, size), Image.Resampling.BILINEAR)
        out[i] = np.asarray(resized).reshape(out.shape[1:])
    return out


def read_member(source: Path, image_path: str, limits: DataLimits) -> bytes:
    """Return the raw bytes of one image of a zip archive or directory dataset."""
    problem = unsafe_path_reason(image_path)
    if problem or "\\" in image_path:
        raise DatasetError(f"{source.name}: refusing path {image_path!r}: {problem or 'backslash'}")
    if not _is_image(image_path) or _is_ignored(image_path):
        raise DatasetError(f"{source.name}: {image_path} is not an image of the dataset")
    if source.is_dir():
        root = source.resolve()
        target = (root / image_path).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise DatasetError(f"{source.name}: no image {image_path}")
        return target.read_bytes()
    try:
        with zipfile.ZipFile(source) as archive:
            try:
                info = archive.getinfo(image_path)
            except KeyError:
                raise DatasetError(f"{source.name}: no image {image_path}") from None
            check_zip_members([info], source.name, limits)
            return archive.read(info)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(f"{source.name}: not a valid zip archive ({exc})") from exc
