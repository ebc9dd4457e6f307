"""Generators of dataset files, good and bad, for the upload tests (nothing is checked in)."""

from __future__ import annotations

import gzip
import io
import stat
import struct
import warnings
import zipfile
import zlib

import numpy as np
from PIL import Image

GOOD_ROWS = "id,f1,f2,label\na,1,2,x\nb,2,3,x\nc,3,4,y\nd,4,5,y\n"


def image_bytes(mode: str = "L", size: int = 8, *, fmt: str = "PNG", value: int = 128) -> bytes:
    """A small uniform image; ``value`` is spread over the channels of colour modes."""
    fill: int | tuple[int, ...] = value
    if mode in ("RGB", "CMYK"):
        fill = tuple(value // (i + 1) for i in range(len(mode)))
    buffer = io.BytesIO()
    Image.new(mode, (size, size), fill).save(buffer, format=fmt)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` gray pixels over a tiny body: the
    cheap form of a decompression bomb (nothing is decoded unless a reader trusts it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    body = zlib.compress(b"\0" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def archive(
    members: dict[str, bytes],
    *,
    compression: int = zipfile.ZIP_STORED,
    symlinks: frozenset[str] = frozenset(),
) -> bytes:
    """A zip of ``members``; names in ``symlinks`` are stored as symbolic links."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as handle:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            if name in symlinks:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            handle.writestr(info, data)
    return buffer.getvalue()


def flagged_encrypted(data: bytes) -> bytes:
    """``data``, a zip, with every member flagged as encrypted (zipfile cannot write that):
    bit 0 of the flags of each local header and central directory entry."""
    patched = bytearray(data)
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = patched.find(signature)
        while start != -1:
            patched[start + flags_at] |= 0x1
            start = patched.find(signature, start + 4)
    return bytes(patched)


def duplicate_member_archive(name: str, members: dict[str, bytes]) -> bytes:
    """A zip holding ``name`` twice (zipfile warns, but writes it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as handle, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for member, data in members.items():
            handle.writestr(member, data)
        handle.writestr(name, members[name])
    return buffer.getvalue()


def class_images(mode: str = "L", *, fmt: str = "PNG", size: int = 8, per_class: int = 2) -> dict:
    """Images in one folder per class (``ok/``, ``scratch/``), of one mode."""
    suffix = {"PNG": "png", "JPEG": "jpg", "TIFF": "tif"}[fmt]
    return {
        f"{label}/{i}.{suffix}": image_bytes(mode, size, fmt=fmt, value=60 + 40 * i)
        for label in ("ok", "scratch")
        for i in range(per_class)
    }


def npz(*, compressed: bool = False, **arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


def npz_with_header_claiming(key: str, shape: tuple[int, ...], **arrays: np.ndarray) -> bytes:
    """An npz whose ``key`` member declares ``shape`` but holds a few bytes of data."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as handle:
        for name, value in arrays.items():
            member = io.BytesIO()
            np.save(member, value)
            handle.writestr(f"{name}.npy", member.getvalue())
        handle.writestr(f"{key}.npy", header.getvalue() + bytes(64))
    return buffer.getvalue()


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data)


def parquet(columns: dict[str, list[object]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


def exif_rotated_jpeg(width: int = 12, height: int = 8, *, value: int = 90) -> bytes:
    """A gray JPEG stored ``width`` x ``height`` whose EXIF says to turn it a quarter
    (orientation 6), as phone cameras write them."""
    image = Image.new("L", (width, height), value)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()


class _Latin1Name(zipfile.ZipInfo):
    """A member whose name is stored in Latin-1 without the UTF-8 flag, as old Windows
    archivers write it (readers then decode it as code page 437)."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # noqa: N802 - zipfile's name
        return self.filename.encode("latin-1"), self.flag_bits


def latin1_named_archive(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as handle:
        for name, data in members.items():
            handle.writestr(_Latin1Name(name), data)
    return buffer.getvalue()
