"""load_dataset and read_image_bytes on image datasets: zip archives and directories."""

import io
import os
import stat
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from formats import DatasetError, Limits, decoding, load_dataset, read_image_bytes

# ../shared beside the checkout, as the brief places it.
NEU = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "neu-det"


def encode(pixels: np.ndarray, fmt: str = "PNG", mode: str | None = None) -> bytes:
    image = Image.fromarray(pixels)
    if mode is not None:
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def gray(value: int, size: int = 20) -> bytes:
    return encode(np.full((size, size), value, np.uint8))


def rgb(value: int, size: int = 20) -> bytes:
    return encode(np.full((size, size, 3), value, np.uint8))


def two_classes(make: Callable[[int], bytes] = gray) -> dict[str, bytes]:
    return {
        "scratch/img001.png": make(10),
        "scratch/img002.png": make(20),
        "crazing/img003.png": make(200),
        "crazing/img004.png": make(210),
    }


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def make_dir(root: Path, members: dict[str, bytes]) -> Path:
    for name, data in members.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_loads_class_folder_zip_of_grayscale_pngs(tmp_path: Path) -> None:
    dataset = load_dataset(make_zip(tmp_path / "set.zip", two_classes()), image_size=16)
    assert dataset.kind == "image"
    assert dataset.features.shape == (4, 16, 16, 1) and dataset.features.dtype == np.uint8
    assert dataset.class_names == ("crazing", "scratch")
    assert dataset.sample_ids.tolist() == [
        "crazing/img003.png",
        "crazing/img004.png",
        "scratch/img001.png",
        "scratch/img002.png",
    ]
    assert dataset.image_paths == tuple(dataset.sample_ids.tolist())
    assert dataset.labels.tolist() == [0, 0, 1, 1]
    assert dataset.features[0].min() == dataset.features[0].max() == 200


def test_loads_class_folder_directory_like_the_zip(tmp_path: Path) -> None:
    members = two_classes(rgb)
    from_dir = load_dataset(make_dir(tmp_path / "set", members), image_size=16)
    from_zip = load_dataset(make_zip(tmp_path / "set.zip", members), image_size=16)
    assert from_dir.features.shape == (4, 16, 16, 3)
    np.testing.assert_array_equal(from_dir.features, from_zip.features)
    assert from_dir.sample_ids.tolist() == from_zip.sample_ids.tolist()


def test_strips_common_top_folder_neu_style(tmp_path: Path) -> None:
    members = {
        "NEU/scratch/a.bmp": encode(np.zeros((8, 8), np.uint8), "BMP"),
        "NEU/scratch/b.bmp": encode(np.zeros((8, 8), np.uint8), "BMP"),
        "NEU/inclusion/c.bmp": encode(np.ones((8, 8), np.uint8), "BMP"),
        "NEU/inclusion/d.bmp": encode(np.ones((8, 8), np.uint8), "BMP"),
    }
    dataset = load_dataset(make_zip(tmp_path / "neu.zip", members))
    assert dataset.class_names == ("inclusion", "scratch")
    assert dataset.image_paths[0] == "NEU/inclusion/c.bmp"


def test_ignores_macos_and_windows_debris(tmp_path: Path) -> None:
    members = two_classes()
    members["__MACOSX/scratch/._img001.png"] = b"junk"
    members["scratch/.DS_Store"] = b"junk"
    members["crazing/Thumbs.db"] = b"junk"
    members["README.txt"] = b"notes"
    dataset = load_dataset(make_zip(tmp_path / "set.zip", members))
    assert dataset.n_samples == 4


def test_loads_labels_csv_layout(tmp_path: Path) -> None:
    given = ["1", "10", "2", "10", "1", "2"]
    members = {f"data/images/{i}.png": gray(10 * i) for i in range(6)}
    rows = "".join(f"./images/{i}.png,{label}\n" for i, label in enumerate(given))
    members["data/labels.csv"] = f"path,label\n{rows}".encode()
    dataset = load_dataset(make_zip(tmp_path / "set.zip", members))
    assert dataset.class_names == ("1", "2", "10")
    assert [dataset.class_names[i] for i in dataset.labels] == given
    assert dataset.image_paths[0] == "data/images/0.png"


def test_labels_csv_naming_a_missing_image_is_an_error(tmp_path: Path) -> None:
    members = {f"{i}.png": gray(10) for i in range(4)}
    members["labels.csv"] = b"path,label\n0.png,a\n1.png,a\n2.png,b\n3.png,b\n9.png,b\n"
    with pytest.raises(
        DatasetError, match=r"set.zip: labels.csv lists 9.png, which is not among the images"
    ):
        load_dataset(make_zip(tmp_path / "set.zip", members))


def test_image_missing_from_labels_csv_is_an_error(tmp_path: Path) -> None:
    members = {f"{i}.png": gray(10) for i in range(5)}
    members["labels.csv"] = b"path,label\n0.png,a\n1.png,a\n2.png,b\n3.png,b\n"
    with pytest.raises(DatasetError, match=r"labels.csv: image 4.png is not listed"):
        load_dataset(make_dir(tmp_path / "set", members))


def test_image_outside_a_class_folder_is_an_error(tmp_path: Path) -> None:
    members = two_classes()
    members["stray.png"] = gray(1)
    with pytest.raises(DatasetError, match=r"stray.png is not inside a class folder"):
        load_dataset(make_zip(tmp_path / "set.zip", members))


def test_rejects_archive_without_images(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"set.zip: no images found"):
        load_dataset(make_zip(tmp_path / "set.zip", {"notes.txt": b"hello"}))


def test_rejects_single_class_folder(tmp_path: Path) -> None:
    members = {"cats/a.png": gray(1), "cats/b.png": gray(2)}
    with pytest.raises(DatasetError, match=r"at least 2 classes; the labels hold 'cats'"):
        load_dataset(make_zip(tmp_path / "set.zip", members))


def test_rejects_class_folder_with_one_image(tmp_path: Path) -> None:
    members = {**two_classes(), "pitted/only.png": gray(3)}
    with pytest.raises(DatasetError, match=r"class\(es\) 'pitted' have fewer than 2 samples"):
        load_dataset(make_zip(tmp_path / "set.zip", members))


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("../x.png", "'..' component"),
        ("a/../../x.png", "'..' component"),
        ("/x.png", "absolute path"),
        ("\\x.png", "absolute path"),
        ("C:/x.png", "absolute path"),
        ("a\\..\\x.png", "'..' component"),
    ],
)
def test_rejects_zip_with_escaping_paths(tmp_path: Path, member: str, reason: str) -> None:
    path = tmp_path / "set.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in two_classes().items():
            archive.writestr(name, data)
        archive.writestr(zipfile.ZipInfo(member), gray(5))
    with pytest.raises(DatasetError, match=rf"set.zip: unsafe path in the archive: .*\({reason}\)"):
        load_dataset(path)


def test_rejects_zip_with_symlink_member(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "set.zip", two_classes())
    with zipfile.ZipFile(path, "a") as archive:
        link = zipfile.ZipInfo("scratch/link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(DatasetError, match=r"symbolic links are not supported: scratch/link.png"):
        load_dataset(path)


def test_rejects_zip_with_encrypted_member(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "set.zip", {**two_classes(), "scratch/secret.png": gray(1)})
    data = bytearray(path.read_bytes())
    # zipfile cannot write encrypted members: set the flag in the last central directory entry.
    data[data.rfind(b"PK\x01\x02") + 8] |= 0x1
    path.write_bytes(bytes(data))
    with pytest.raises(
        DatasetError, match=r"encrypted members are not supported: scratch/secret.png"
    ):
        load_dataset(path)


def test_rejects_nested_archive(tmp_path: Path) -> None:
    inner = make_zip(tmp_path / "inner.zip", two_classes())
    members = {**two_classes(), "more/inner.zip": inner.read_bytes()}
    with pytest.raises(DatasetError, match=r"nested archives are not supported: more/inner.zip"):
        load_dataset(make_zip(tmp_path / "set.zip", members))


def test_rejects_zip_bomb_member(tmp_path: Path) -> None:
    members = {**two_classes(), "scratch/bomb.bmp": bytes(8 << 20)}
    with pytest.raises(
        DatasetError, match=r"member scratch/bomb.bmp inflates \d+ times.*limit of 200"
    ):
        load_dataset(make_zip(tmp_path / "set.zip", members))


def test_rejects_archive_over_the_size_limit(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "set.zip", two_classes())
    with pytest.raises(DatasetError, match=r"expands past the limit of 100 bytes"):
        load_dataset(path, limits=Limits(max_expanded_bytes=100))


def test_rejects_archive_with_too_many_members(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "set.zip", two_classes())
    with pytest.raises(
        DatasetError, match=r"set.zip: the archive has 4 members, over the limit of 3"
    ):
        load_dataset(path, limits=Limits(max_members=3))


def test_rejects_truncated_zip(tmp_path: Path) -> None:
    data = make_zip(tmp_path / "full.zip", two_classes()).read_bytes()
    (tmp_path / "set.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match=r"set.zip: not a readable zip archive"):
        load_dataset(tmp_path / "set.zip")


def test_rejects_truncated_png_naming_it(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)
    data = encode(noise)
    members = {**two_classes(), "scratch/cut.png": data[: len(data) // 2]}
    with pytest.raises(DatasetError, match=r"image scratch/cut.png is unreadable or truncated"):
        load_dataset(make_dir(tmp_path / "set", members))


def test_rejects_image_over_the_pixel_limit(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "set.zip", two_classes())
    with pytest.raises(
        DatasetError, match=r"image crazing/img003.png is 20x20, over the limit of 100 pixels"
    ):
        load_dataset(path, limits=Limits(max_image_pixels=100))


def test_rejects_png_header_claiming_a_huge_size(tmp_path: Path) -> None:
    data = bytearray(gray(1, size=4))
    # IHDR: width and height at bytes 16..24, then the chunk's CRC over bytes 12..29.
    data[16:24] = (60000).to_bytes(4, "big") * 2
    data[29:33] = zlib.crc32(data[12:29]).to_bytes(4, "big")
    members = {**two_classes(), "scratch/huge.png": bytes(data)}
    with pytest.raises(DatasetError, match=r"image scratch/huge.png .*decompression bomb"):
        load_dataset(make_zip(tmp_path / "set.zip", members))


def test_rejects_mixed_grayscale_and_colour(tmp_path: Path) -> None:
    members = {**two_classes(), "scratch/colour.png": rgb(9)}
    with pytest.raises(
        DatasetError,
        match=r"mixed image modes: crazing/img003.png is grayscale, scratch/colour.png is colour",
    ):
        load_dataset(make_zip(tmp_path / "set.zip", members))


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    def cmyk(value: int) -> bytes:
        return encode(np.full((16, 16, 3), value, np.uint8), "JPEG", mode="CMYK")

    dataset = load_dataset(make_zip(tmp_path / "set.zip", two_classes(cmyk)), image_size=16)
    assert dataset.features.shape == (4, 16, 16, 3)
    assert abs(int(dataset.features[0].mean()) - 200) <= 3


def test_sixteen_bit_grayscale_is_scaled_to_eight_bits(tmp_path: Path) -> None:
    def deep(value: int) -> bytes:
        return encode(np.full((16, 16), value * 257, np.uint16))

    dataset = load_dataset(make_zip(tmp_path / "set.zip", two_classes(deep)), image_size=16)
    assert dataset.features.shape == (4, 16, 16, 1)
    assert [int(image.max()) for image in dataset.features] == [200, 210, 10, 20]


def test_palette_images_with_gray_palette_stay_grayscale(tmp_path: Path) -> None:
    def paletted(value: int) -> bytes:
        return encode(np.full((16, 16), value, np.uint8), mode="P")

    dataset = load_dataset(make_zip(tmp_path / "set.zip", two_classes(paletted)), image_size=16)
    assert dataset.features.shape == (4, 16, 16, 1)
    assert int(dataset.features[0].max()) == 200


@pytest.mark.parametrize(("side", "expected"), [(10, 16), (30, 32), (41, 40), (200, 64)])
def test_default_image_size_is_median_side_rounded_and_clipped(
    tmp_path: Path, side: int, expected: int
) -> None:
    dataset = load_dataset(make_zip(tmp_path / "set.zip", two_classes(lambda v: gray(v, side))))
    assert dataset.features.shape[1:3] == (expected, expected)


def test_default_image_size_is_clipped_to_the_given_largest_side(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "set.zip", two_classes(lambda v: gray(v, 200)))
    cache = tmp_path / "cache"
    on_gpu = load_dataset(path, max_image_side=128, cache_dir=cache)
    on_cpu = load_dataset(path, max_image_side=64, cache_dir=cache)
    assert on_gpu.features.shape[1:3] == (128, 128)
    # Each largest side has its own cache entry rather than reusing the other's.
    assert on_cpu.features.shape[1:3] == (64, 64)
    assert load_dataset(path, image_size=96, max_image_side=64).features.shape[1] == 96


def test_cache_is_reused_without_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_zip(tmp_path / "set.zip", two_classes())
    cache = tmp_path / "cache"
    first = load_dataset(path, image_size=16, cache_dir=cache)
    assert isinstance(first.features, np.memmap)
    assert sorted(p.suffix for p in cache.iterdir()) == [".json", ".u8"]

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded again")

    monkeypatch.setattr(decoding, "_decode_into", no_decoding)
    second = load_dataset(path, image_size=16, cache_dir=cache)
    assert isinstance(second.features, np.memmap) and not second.features.flags.writeable
    np.testing.assert_array_equal(first.features, second.features)
    assert second.class_names == first.class_names
    with pytest.raises(AssertionError, match="decoded again"):
        load_dataset(path, image_size=24, cache_dir=cache)


def test_cache_is_rebuilt_when_the_archive_changes(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "set.zip", two_classes())
    cache = tmp_path / "cache"
    load_dataset(path, image_size=16, cache_dir=cache)
    make_zip(path, two_classes(lambda v: gray(255 - v)))
    later = time.time() + 5
    os.utime(path, (later, later))
    changed = load_dataset(path, image_size=16, cache_dir=cache)
    assert int(changed.features[0].max()) == 55
    assert len(list(cache.glob("*.u8"))) == 2 and not list(cache.glob("*.tmp"))


def test_failed_decode_leaves_no_cache_behind(tmp_path: Path) -> None:
    members = {**two_classes(), "scratch/broken.png": b"garbage"}
    cache = tmp_path / "cache"
    with pytest.raises(DatasetError, match="scratch/broken.png"):
        load_dataset(make_zip(tmp_path / "set.zip", members), cache_dir=cache)
    assert list(cache.iterdir()) == []


def test_rejects_symlink_in_directory(tmp_path: Path) -> None:
    root = make_dir(tmp_path / "set", two_classes())
    (root / "scratch" / "link.png").symlink_to(tmp_path / "elsewhere.png")
    with pytest.raises(DatasetError, match=r"symbolic links are not supported: scratch/link.png"):
        load_dataset(root)


def test_read_image_bytes_returns_the_member(tmp_path: Path) -> None:
    members = two_classes()
    from_zip = read_image_bytes(make_zip(tmp_path / "set.zip", members), "scratch/img002.png")
    from_dir = read_image_bytes(make_dir(tmp_path / "set", members), "scratch/img002.png")
    assert from_zip == from_dir == members["scratch/img002.png"]


@pytest.mark.parametrize("image_path", ["../secret.png", "scratch/../../secret.png", "/etc/x.png"])
def test_read_image_bytes_refuses_escaping_paths(tmp_path: Path, image_path: str) -> None:
    (tmp_path / "secret.png").write_bytes(gray(1))
    root = make_dir(tmp_path / "set", two_classes())
    with pytest.raises(DatasetError, match=r"refusing path"):
        read_image_bytes(root, image_path)
    with pytest.raises(DatasetError, match=r"refusing path"):
        read_image_bytes(make_zip(tmp_path / "set.zip", two_classes()), image_path)


def test_read_image_bytes_rejects_unknown_member(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "set.zip", two_classes())
    with pytest.raises(DatasetError, match=r"set.zip: no image scratch/none.png"):
        read_image_bytes(path, "scratch/none.png")
    with pytest.raises(DatasetError, match=r"no image scratch/none.png"):
        read_image_bytes(make_dir(tmp_path / "set", two_classes()), "scratch/none.png")


def test_read_image_bytes_refuses_symlink_escaping_directory(tmp_path: Path) -> None:
    (tmp_path / "secret.png").write_bytes(gray(1))
    root = make_dir(tmp_path / "set", two_classes())
    (root / "scratch" / "link.png").symlink_to(tmp_path / "secret.png")
    with pytest.raises(DatasetError, match=r"no image scratch/link.png"):
        read_image_bytes(root, "scratch/link.png")


@pytest.mark.skipif(not NEU.is_dir(), reason="../shared/datasets/neu-det is absent")
def test_loads_the_neu_surface_defect_images(tmp_path: Path) -> None:
    dataset = load_dataset(NEU, image_size=32, cache_dir=tmp_path)
    assert dataset.class_names == (
        "crazing",
        "inclusion",
        "patches",
        "pitted_surface",
        "rolled-in_scale",
        "scratches",
    )
    assert dataset.features.shape == (1800, 32, 32, 3)
    assert np.bincount(dataset.labels).tolist() == [300] * 6
    assert dataset.image_paths[0].startswith("crazing/")


def test_images_are_turned_upright_by_their_exif_orientation(tmp_path: Path) -> None:
    pixels = np.zeros((16, 16), np.uint8)
    pixels[:, 8:] = 255  # dark left half, bright right half, as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter clockwise: the dark half on top
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", exif=exif.tobytes(), quality=95)
    members = {f"{c}/{i}.jpg": buffer.getvalue() for c in ("a", "b") for i in range(2)}
    image = load_dataset(make_zip(tmp_path / "set.zip", members), image_size=16).features[0, ..., 0]
    assert image[:8].mean() < 64 and image[8:].mean() > 192


def test_rejects_corrupt_image_naming_it_without_internals(tmp_path: Path) -> None:
    members = {**two_classes(), "scratch/broken.png": b"this is not a png"}
    with pytest.raises(DatasetError) as raised:
        load_dataset(make_zip(tmp_path / "set.zip", members))
    message = str(raised.value)
    assert "<" not in message and "ZipExtFile" not in message, message
    assert message.startswith(
        "set.zip: image scratch/broken.png is not a PNG, JPEG, BMP, TIFF, GIF or WebP image: "
        "its content matches none of them"
    ), message
