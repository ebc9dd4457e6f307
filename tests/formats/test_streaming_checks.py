"""Checking a dataset streams it: the labels counted and the ids checked for repeats chunk by
chunk (the same answers as loading gives), compressed inputs bounded while they expand, the
row and class limits, and a check that can be stopped between chunks."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import formats.columns
import formats.npz
import formats.unique_ids
from formats import DatasetError, Limits, check_dataset, load_dataset
from formats.archives import open_gzip


def write_table(path: Path, ids: list[str], labels: list[str]) -> Path:
    frame = pd.DataFrame({"id": ids, "f1": np.arange(len(ids), dtype=float), "label": labels})
    if path.name.endswith(".parquet"):
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    else:
        frame.to_csv(path, index=False, compression="gzip" if path.suffix == ".gz" else None)
    return path


def write_npz(path: Path, features: np.ndarray, labels: np.ndarray, **arrays: Any) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in {"X": features, "y": labels, **arrays}.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, value, allow_pickle=False)
            archive.writestr(f"{key}.npy", buffer.getvalue())
    return path


def refusal(function: Any, *args: Any, **options: Any) -> DatasetError:
    with pytest.raises(DatasetError) as caught:
        function(*args, **options)
    return caught.value


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of a few rows and ids partitioned to disk after a few records, so that small
    files take every path a large one does."""
    monkeypatch.setattr(formats.columns, "CHUNK_CELLS", 6)
    monkeypatch.setattr(formats.npz, "_CHUNK_BYTES", 24)
    monkeypatch.setattr(formats.unique_ids, "_SPILL_RECORDS", 3)


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("name", ["data.csv", "data.csv.gz", "data.parquet"])
def test_check_counts_classes_as_loading_does(tmp_path: Path, name: str) -> None:
    labels = ["b", "a", "c", "a", "b", "a", "c", "10", "10", "a", "2", "2"]
    path = write_table(tmp_path / name, [f"s{i}" for i in range(len(labels))], labels)
    summary = check_dataset(path)
    loaded = load_dataset(path)
    assert summary.class_counts == {"10": 2, "2": 2, "a": 4, "b": 2, "c": 2}
    assert list(summary.class_counts) == list(loaded.class_names)


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("name", ["data.csv", "data.csv.gz", "data.parquet"])
def test_check_names_the_first_repeated_id_as_loading_does(tmp_path: Path, name: str) -> None:
    ids = ["a", "b", "c", "d", "e", "f", "c", "b", "g", "a"]
    path = write_table(tmp_path / name, ids, ["x", "y"] * 5)
    checked, loaded = refusal(check_dataset, path), refusal(load_dataset, path)
    assert checked.code == loaded.code == "duplicate_id"
    assert (
        str(checked)
        == str(loaded)
        == (f"{name}: id 'c' appears twice (row 3 and 7); ids must be unique")
    )
    assert checked.details["positions"] == [3, 7]


@pytest.mark.usefixtures("small_chunks")
def test_hash_collisions_are_resolved_by_comparing_the_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every id hashes alike: only comparing the ids themselves tells repeats from collisions.
    monkeypatch.setattr(
        formats.unique_ids.pd.util,
        "hash_array",
        lambda values, **_: np.full(len(values), 7, dtype=np.uint64),
    )
    unique = write_table(tmp_path / "unique.csv", [f"s{i}" for i in range(9)], ["x", "y", "z"] * 3)
    assert check_dataset(unique).class_counts == {"x": 3, "y": 3, "z": 3}
    repeated = write_table(
        tmp_path / "repeated.csv", ["p", "q", "r", "s", "q", "p", "t", "u"], ["x", "y"] * 4
    )
    error = refusal(check_dataset, repeated)
    assert error.code == "duplicate_id" and error.details["positions"] == [2, 5]


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("order", ["C", "F"])
def test_npz_is_checked_in_chunks_in_either_memory_order(tmp_path: Path, order: str) -> None:
    features = np.asfortranarray(np.ones((8, 3))) if order == "F" else np.ones((8, 3))
    features[5, 2] = features[6, 0] = np.inf
    ids = np.array([f"s{i}" for i in range(8)])
    path = write_npz(tmp_path / "data.npz", features, np.array([0, 1] * 4), ids=ids)
    checked, loaded = refusal(check_dataset, path), refusal(load_dataset, path)
    assert checked.code == loaded.code == "bad_feature"
    assert checked.details == loaded.details == {"file": "data.npz", "row": 6, "column": "x2"}
    features[5, 2] = features[6, 0] = 0
    repeated = ids.copy()
    repeated[6] = "s1"
    path = write_npz(tmp_path / "ids.npz", features, np.array([0, 1] * 4), ids=repeated)
    assert str(refusal(check_dataset, path)) == str(refusal(load_dataset, path))
    path = write_npz(tmp_path / "good.npz", features, np.array([0, 1] * 4))
    assert check_dataset(path).class_counts == {"0": 4, "1": 4}


def test_a_fortran_order_npz_is_read_a_chunk_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(formats.npz, "_CHUNK_BYTES", 64)
    features = np.asfortranarray(np.zeros((100, 4)))
    path = write_npz(tmp_path / "data.npz", features, np.array([0, 1] * 50))
    header = formats.npz.NpyHeader((100, 4), True, np.dtype(np.float64))
    reads: list[int] = []

    class Recorded(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            data = super().read(size)
            reads.append(len(data))
            return data

    list(formats.npz.check_features(header, Recorded(features.tobytes(order="F"))))
    assert max(reads) <= 64 and sum(reads) == features.nbytes
    assert check_dataset(path).class_counts == {"0": 50, "1": 50}


def test_a_gzip_is_refused_once_it_expands_past_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "data.csv.gz"
    rows = b"f1,label\n" + b"".join(b"%d,c%d\n" % (i, i % 3) for i in range(200_000))
    path.write_bytes(gzip.compress(rows))
    limits = Limits(max_expanded_bytes=100_000)
    error = refusal(check_dataset, path, limits=limits)
    assert error.code == "archive_too_large"
    assert "expands past the limit of 100000 bytes (LABELAUDIT_MAX_EXPANDED_BYTES)" in str(error)
    assert error.details["limit"] == 100_000
    assert refusal(load_dataset, path, limits=limits).code == "archive_too_large"
    # Refused as the limit is passed, not after expanding the rest.
    delivered = 0
    with pytest.raises(DatasetError), open_gzip(path, limits) as stream:
        while piece := stream.read(4096):
            delivered += len(piece)
    assert delivered <= 100_000
    assert check_dataset(path).class_counts == {"c0": 66_667, "c1": 66_667, "c2": 66_666}


def test_a_gzip_bomb_is_refused_by_its_ratio_within_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(b"f1,label\n" + b"0,a\n" * 2_000_000, compresslevel=9))
    error = refusal(check_dataset, path)
    assert error.code == "archive_too_large" and "gzip bomb" in str(error)


def test_parquet_is_bounded_from_its_footer(tmp_path: Path) -> None:
    path = write_table(tmp_path / "data.parquet", [f"s{i}" for i in range(1000)], ["x", "y"] * 500)
    error = refusal(check_dataset, path, limits=Limits(max_expanded_bytes=1000))
    assert error.code == "archive_too_large" and "LABELAUDIT_MAX_EXPANDED_BYTES" in str(error)
    error = refusal(check_dataset, path, limits=Limits(max_rows=999))
    assert error.code == "too_many_rows" and error.details["limit"] == 999


@pytest.mark.parametrize("name", ["data.csv", "data.npz"])
def test_row_and_class_limits_name_themselves_and_their_setting(tmp_path: Path, name: str) -> None:
    labels = ["a", "b", "c", "a", "b", "c"]
    if name == "data.npz":
        path = write_npz(tmp_path / name, np.zeros((6, 2)), np.array(labels))
    else:
        path = write_table(tmp_path / name, [f"s{i}" for i in range(6)], labels)
    rows = refusal(check_dataset, path, limits=Limits(max_rows=5))
    assert rows.code == "too_many_rows" and rows.details["limit"] == 5
    assert "more than 5 rows" in str(rows) and "LABELAUDIT_MAX_ROWS" in str(rows)
    for function in (check_dataset, load_dataset):
        classes = refusal(function, path, limits=Limits(max_classes=2))
        assert classes.code == "too_many_classes" and classes.details["limit"] == 2
        assert "more than 2 classes" in str(classes) and "LABELAUDIT_MAX_CLASSES" in str(classes)
    assert check_dataset(path, limits=Limits(max_rows=6, max_classes=3)).class_counts == {
        "a": 2,
        "b": 2,
        "c": 2,
    }


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("name", ["data.csv", "data.npz"])
def test_a_check_stops_between_chunks_when_interrupted(tmp_path: Path, name: str) -> None:
    labels = ["a", "b"] * 20
    if name == "data.npz":
        path = write_npz(tmp_path / name, np.zeros((40, 1)), np.array(labels))
    else:
        path = write_table(tmp_path / name, [f"s{i}" for i in range(40)], labels)
    calls: list[int] = []

    class Stop(Exception):
        pass

    def interrupt() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise Stop

    with pytest.raises(Stop):
        check_dataset(path, interrupt=interrupt)
    assert len(calls) == 3
    # Left alone, the check asks more often: the third call came before its end.
    polls: list[int] = []
    assert check_dataset(path, interrupt=lambda: polls.append(1)).class_counts
    assert len(polls) > 3


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("label", "x" * 5000, f"the label {'x' * 40!r}... is over 255 characters"),
        ("id", "y" * 1025, f"the sample id {'y' * 40!r}... is over 1024 characters"),
        ("id", "c\0", "the sample id 'c\\x00' holds a NUL character"),
    ],
)
def test_a_value_no_database_could_store_is_refused_by_every_reader(
    tmp_path: Path, column: str, value: str, words: str
) -> None:
    ids = [f"s{i}" for i in range(40)]
    labels = ["a", "b"] * 20
    (ids if column == "id" else labels)[30] = value
    path = write_table(tmp_path / "data.csv", ids, labels)
    for read in (check_dataset, load_dataset):
        with pytest.raises(DatasetError) as refused:
            read(path)
        assert refused.value.code == "bad_text"
        assert f"data.csv: row 31: {words}" in str(refused.value)


def test_a_line_with_no_end_is_refused_once_the_limit_is_read(tmp_path: Path) -> None:
    # Read whole, a 4 GB file without a newline cost 8 GB of memory before any check.
    path = tmp_path / "data.csv"
    path.write_text("label," + "x" * 50_000)
    for read in (check_dataset, load_dataset):
        with pytest.raises(DatasetError) as refused:
            read(path, limits=Limits(max_columns=4))
        assert refused.value.code == "unreadable_table"
        assert "line 1 is over 1,024 characters" in str(refused.value)
    # Within the limit, lines read as ever.
    path.write_text("f1,label\n1,a\n2,b\n3,a\n4,b\n")
    assert check_dataset(path, limits=Limits(max_columns=4)).class_counts == {"a": 2, "b": 2}
