"""Archive safety: what a zip archive (an image set or an ``.npz``) or a directory may hold
before anything in it is read. Nothing is ever extracted to disk."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from .errors import DatasetError
from .limits import Limits

NESTED_ARCHIVES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")
_IGNORED_NAMES = frozenset({"__macosx", "thumbs.db", "desktop.ini"})
# What reading a damaged archive raises.
ZIP_ERRORS = (zipfile.BadZipFile, EOFError, zlib.error)
# Members this small cannot inflate into anything harmful, and blank BMPs or TIFFs of a few
# hundred KB legitimately compress far beyond any sane ratio cap.
_RATIO_MIN_BYTES = 1 << 20


def unsafe_path_reason(path: str) -> str | None:
    """Why ``path`` could escape its archive or directory, or None when it is safe."""
    if not path or "\0" in path:
        return "empty name or NUL character"
    if path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", path):
        return "absolute path"
    if ".." in re.split(r"[/\\]", path):
        return "'..' component"
    return None


def is_ignored(path: str) -> bool:
    """Hidden files and folders, and what macOS and Windows leave in archives."""
    parts = path.rstrip("/").split("/")
    return any(part.startswith(".") or part.lower() in _IGNORED_NAMES for part in parts)


def check_members(infos: Sequence[zipfile.ZipInfo], limits: Limits) -> list[str]:
    """Check an archive's members before any is read; return the file members' names.

    Refuses too many members, paths that escape the archive, members named twice, symbolic
    links, encrypted members, a total uncompressed size over ``limits.max_expanded_bytes``
    and members that inflate more than ``limits.max_ratio`` times (zip bombs).
    """
    if len(infos) > limits.max_members:
        raise DatasetError(
            f"the archive has {len(infos)} members, over the limit of {limits.max_members}",
            code="archive_too_large",
            limit=limits.max_members,
        )
    seen: set[str] = set()
    expanded = 0
    for info in infos:
        name = info.filename
        problem = unsafe_path_reason(name)
        if problem:
            raise DatasetError(
                f"unsafe path in the archive: {name!r} ({problem})",
                code="unsafe_archive_path",
                member=name,
            )
        if name in seen:
            raise _bad_member(f"member {name!r} appears twice in the archive", name)
        seen.add(name)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise _bad_member(f"symbolic links are not supported: {name}", name)
        if info.flag_bits & 0x1:
            raise _bad_member(f"encrypted members are not supported: {name}", name)
        expanded += info.file_size
        if expanded > limits.max_expanded_bytes:
            raise DatasetError(
                f"the archive expands past the limit of {limits.max_expanded_bytes} bytes "
                f"(reached at member {name})",
                code="archive_too_large",
                member=name,
                limit=limits.max_expanded_bytes,
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_MIN_BYTES and ratio > limits.max_ratio:
            raise DatasetError(
                f"member {name} inflates {ratio:.0f} times, more than the limit of "
                f"{limits.max_ratio:g} (zip bomb?)",
                code="archive_too_large",
                member=name,
                limit=limits.max_ratio,
            )
    return [info.filename for info in infos if not info.is_dir()]


def _bad_member(message: str, member: str) -> DatasetError:
    return DatasetError(message, code="bad_archive", member=member)


def bad_zip(exc: Exception) -> DatasetError:
    return DatasetError(f"not a readable zip archive: {exc}", code="bad_archive")


def list_zip(source: Path, limits: Limits) -> tuple[list[str], str]:
    """The file members of a zip archive (checked, none of them a nested archive) and a
    fingerprint that changes whenever the archive may have."""
    try:
        with zipfile.ZipFile(source) as archive:
            files = check_members(archive.infolist(), limits)
    except ZIP_ERRORS as exc:
        raise bad_zip(exc) from None
    nested = next(
        (f for f in files if not is_ignored(f) and f.lower().endswith(NESTED_ARCHIVES)), None
    )
    if nested is not None:
        raise _bad_member(f"nested archives are not supported: {nested}", nested)
    status = source.stat()
    return files, f"zip:{status.st_size}:{status.st_mtime_ns}"


def walk_directory(root: Path, limits: Limits) -> tuple[list[str], str]:
    """The files below ``root`` (relative, forward slashes; hidden ones left out) and a
    fingerprint of their sizes and modification times. Symbolic links are refused."""
    files: list[str] = []
    digest = hashlib.sha256()
    pending = [root]
    while pending:
        folder = pending.pop()
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                relative = Path(entry.path).relative_to(root).as_posix()
                if is_ignored(relative):
                    continue
                if entry.is_symlink():
                    raise _bad_member(f"symbolic links are not supported: {relative}", relative)
                if entry.is_dir():
                    pending.append(Path(entry.path))
                elif entry.is_file():
                    files.append(relative)
                    status = entry.stat()
                    digest.update(f"{relative}\0{status.st_size}\0{status.st_mtime_ns}\n".encode())
                    if len(files) > limits.max_members:
                        raise DatasetError(
                            f"the folder has more than {limits.max_members} files",
                            code="archive_too_large",
                            limit=limits.max_members,
                        )
    return files, "dir:" + digest.hexdigest()


def open_gzip(path: Path, limits: Limits) -> BinaryIO:
    """A gzip file's expanded bytes, read as they are needed and refused
    (``archive_too_large``) the moment they pass ``limits.max_expanded_bytes`` or inflate
    more than ``limits.max_ratio`` times, as a zip member would be: a gzip bomb costs the
    reader a buffer, never its expansion."""
    return io.BufferedReader(_BoundedGzip(path, limits), buffer_size=1 << 20)


class _BoundedGzip(io.RawIOBase):
    def __init__(self, path: Path, limits: Limits) -> None:
        self._compressed = path.open("rb")
        self._expanding = gzip.GzipFile(fileobj=self._compressed, mode="rb")
        self._limits = limits
        self._expanded = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = self._expanding.readinto(buffer)
        self._expanded += count
        limits = self._limits
        if self._expanded > limits.max_expanded_bytes:
            raise DatasetError(
                f"the gzip file expands past the limit of {limits.max_expanded_bytes} bytes "
                "(LABELAUDIT_MAX_EXPANDED_BYTES)",
                code="archive_too_large",
                limit=limits.max_expanded_bytes,
                setting="LABELAUDIT_MAX_EXPANDED_BYTES",
            )
        ratio = self._expanded / max(self._compressed.tell(), 1)
        if self._expanded > _RATIO_MIN_BYTES and ratio > limits.max_ratio:
            raise DatasetError(
                f"the gzip file inflates {ratio:.0f} times, more than the limit of "
                f"{limits.max_ratio:g} (gzip bomb?)",
                code="archive_too_large",
                limit=limits.max_ratio,
            )
        return count

    def close(self) -> None:
        if not self.closed:
            self._expanding.close()
            self._compressed.close()
        super().close()
