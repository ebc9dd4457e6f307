"""load_dataset on tables and arrays: CSV, Parquet and .npz, and the format dispatch."""

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from formats import DatasetError, Limits, load_dataset


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def table(n_per_class: int = 3, labels: tuple[object, ...] = ("cat", "dog")) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = n_per_class * len(labels)
    return pd.DataFrame(
        {
            "f1": rng.normal(size=n),
            "f2": rng.integers(0, 10, n),
            "label": [labels[i % len(labels)] for i in range(n)],
        }
    )


def test_loads_csv_with_string_labels_and_id_column(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "data.csv",
        "id,f1,f2,label\na,1.5,2,dog\nb,0.5,3,cat\nc,2,1,dog\nd,1,1,cat\n",
    )
    dataset = load_dataset(path)
    assert dataset.kind == "table"
    assert dataset.class_names == ("cat", "dog")
    assert dataset.labels.tolist() == [1, 0, 1, 0]
    assert dataset.sample_ids.tolist() == ["a", "b", "c", "d"]
    assert dataset.feature_names == ("f1", "f2")
    assert dataset.features.dtype == np.float32
    assert dataset.features.tolist() == [[1.5, 2], [0.5, 3], [2, 1], [1, 1]]


def test_integer_labels_are_sorted_numerically(tmp_path: Path) -> None:
    frame = table(labels=(10, 2, 1))
    frame.to_csv(tmp_path / "data.csv", index=False)
    dataset = load_dataset(tmp_path / "data.csv")
    assert dataset.class_names == ("1", "2", "10")
    assert [dataset.class_names[i] for i in dataset.labels] == [str(v) for v in frame["label"]]


def test_row_index_is_the_id_without_an_id_column(tmp_path: Path) -> None:
    table().to_csv(tmp_path / "data.csv", index=False)
    dataset = load_dataset(tmp_path / "data.csv")
    assert dataset.sample_ids.tolist() == [str(i) for i in range(6)]


def test_loads_gzipped_csv_with_custom_columns(tmp_path: Path) -> None:
    frame = table().rename(columns={"label": "target"})
    frame["key"] = [f"k{i}" for i in range(len(frame))]
    with gzip.open(tmp_path / "data.csv.gz", "wt") as handle:
        frame.to_csv(handle, index=False)
    dataset = load_dataset(tmp_path / "data.csv.gz", label_column="target", id_column="key")
    assert dataset.n_samples == 6 and dataset.feature_names == ("f1", "f2")
    assert dataset.sample_ids[0] == "k0"


def test_loads_parquet(tmp_path: Path) -> None:
    frame = table(labels=(3, 1))
    frame["label"] = frame["label"].astype(float)
    frame.to_parquet(tmp_path / "data.parquet")
    dataset = load_dataset(tmp_path / "data.parquet")
    assert dataset.class_names == ("1", "3")
    assert dataset.feature_names == ("f1", "f2")
    np.testing.assert_allclose(dataset.features, frame[["f1", "f2"]].to_numpy(), rtol=1e-6)


def test_reports_non_numeric_parquet_cell(tmp_path: Path) -> None:
    frame = table()
    frame["f2"] = ["1", "2", "x", "4", "5", "6"]
    frame.to_parquet(tmp_path / "data.pq")
    with pytest.raises(DatasetError, match=r"data.pq: column 'f2' is large_string, not numeric"):
        load_dataset(tmp_path / "data.pq")


def test_rejects_corrupt_parquet(tmp_path: Path) -> None:
    (tmp_path / "data.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DatasetError, match="data.parquet: cannot read the Parquet file"):
        load_dataset(tmp_path / "data.parquet")


def test_missing_label_column_lists_the_columns(tmp_path: Path) -> None:
    write_csv(tmp_path / "data.csv", "a,b,class\n1,2,x\n")
    with pytest.raises(
        DatasetError, match=r"no label column 'label'; the columns are: a, b, class"
    ):
        load_dataset(tmp_path / "data.csv")


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("", r"row 2, column 'f2': the feature is missing, not a number or infinite"),
        ("nan", r"row 2, column 'f2': the feature is missing, not a number or infinite"),
        ("inf", r"row 2, column 'f2': the feature is missing, not a number or infinite"),
        ("-Infinity", r"row 2, column 'f2': the feature is missing, not a number or infinite"),
        ("1e300", r"row 2, column 'f2': the feature is missing, not a number or infinite"),
        ("abc", r"row 2, column 'f2': the feature is missing, not a number or infinite"),
    ],
)
def test_reports_bad_feature_cell_by_column_and_row(
    tmp_path: Path, cell: str, message: str
) -> None:
    write_csv(tmp_path / "data.csv", f"f1,f2,label\n1,2,a\n3,{cell},b\n5,6,a\n7,8,b\n")
    with pytest.raises(DatasetError, match=message):
        load_dataset(tmp_path / "data.csv")


def test_reports_bad_cell_in_a_later_chunk_with_its_absolute_row(tmp_path: Path) -> None:
    frame = pd.DataFrame({"f1": np.arange(250_000) % 7, "label": np.arange(250_000) % 2})
    frame.to_csv(tmp_path / "data.csv", index=False)
    with open(tmp_path / "data.csv", "a") as handle:
        handle.write("oops,1\n")
    with pytest.raises(DatasetError, match=r"row 250001, column 'f1': the feature is missing"):
        load_dataset(tmp_path / "data.csv")


def test_reports_empty_label_by_row(tmp_path: Path) -> None:
    write_csv(tmp_path / "data.csv", "f1,label\n1,a\n2,\n3,b\n")
    with pytest.raises(DatasetError, match=r"row 2 has no label"):
        load_dataset(tmp_path / "data.csv")


def test_rejects_ragged_csv_naming_the_line(tmp_path: Path) -> None:
    write_csv(tmp_path / "data.csv", "f1,f2,label\n1,2,a\n3,4,b,5\n5,6,a\n")
    with pytest.raises(DatasetError, match=r"data.csv: line 3 has 4 fields but the header has 3"):
        load_dataset(tmp_path / "data.csv")


def test_rejects_latin1_csv_naming_the_line(tmp_path: Path) -> None:
    write_csv(tmp_path / "data.csv", "f1,label\n1,cat\n2,caf\u00e9\n3,cat\n", encoding="latin-1")
    with pytest.raises(DatasetError, match=r"data.csv: line 3 is not UTF-8 text"):
        load_dataset(tmp_path / "data.csv")


def test_rejects_duplicate_ids(tmp_path: Path) -> None:
    write_csv(tmp_path / "data.csv", "id,f1,label\na,1,x\nb,2,y\nc,3,x\nb,4,y\n")
    with pytest.raises(DatasetError, match=r"id 'b' appears twice \(row 2 and 4\)"):
        load_dataset(tmp_path / "data.csv")


def test_rejects_a_single_class(tmp_path: Path) -> None:
    write_csv(tmp_path / "data.csv", "f1,label\n1,only\n2,only\n")
    with pytest.raises(
        DatasetError, match=r"an audit needs at least 2 classes; the labels hold 'only'"
    ):
        load_dataset(tmp_path / "data.csv")


def test_rejects_class_with_a_single_sample(tmp_path: Path) -> None:
    write_csv(tmp_path / "data.csv", "f1,label\n1,a\n2,a\n3,lonely\n4,b\n5,b\n")
    with pytest.raises(DatasetError, match=r"class\(es\) 'lonely' have fewer than 2 samples"):
        load_dataset(tmp_path / "data.csv")


def test_rejects_too_many_columns_before_reading_rows(tmp_path: Path) -> None:
    header = ",".join(f"f{i}" for i in range(20)) + ",label\n"
    # The rows are broken: only the header may be read before the column limit applies.
    write_csv(tmp_path / "data.csv", header + "garbage\n" * 3)
    with pytest.raises(
        DatasetError, match=r"data.csv: the table has 21 columns, over the limit of 10"
    ):
        load_dataset(tmp_path / "data.csv", limits=Limits(max_columns=10))


def test_rejects_too_many_rows(tmp_path: Path) -> None:
    table().to_csv(tmp_path / "data.csv", index=False)
    with pytest.raises(DatasetError, match=r"more than 4 rows"):
        load_dataset(tmp_path / "data.csv", limits=Limits(max_rows=4))


def test_rejects_header_only_csv(tmp_path: Path) -> None:
    write_csv(tmp_path / "data.csv", "f1,label\n")
    with pytest.raises(
        DatasetError, match=r"data.csv: an audit needs at least 2 classes; the labels hold none"
    ):
        load_dataset(tmp_path / "data.csv")


def test_rejects_empty_file(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"data.csv: the file is empty"):
        load_dataset(tmp_path / "data.csv")


def test_rejects_unknown_extension(tmp_path: Path) -> None:
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    with pytest.raises(DatasetError, match=r"unsupported file type '.xlsx': send a .csv"):
        load_dataset(tmp_path / "data.xlsx")


def test_rejects_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"nothere.csv: no such file"):
        load_dataset(tmp_path / "nothere.csv")


def test_rejects_corrupt_gzip(tmp_path: Path) -> None:
    (tmp_path / "data.csv.gz").write_bytes(b"\x1f\x8b\x08garbage")
    with pytest.raises(
        DatasetError, match=r"data.csv.gz: cannot read the CSV: not a valid gzip file"
    ):
        load_dataset(tmp_path / "data.csv.gz")


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="max_ratio"):
        Limits(max_ratio=0)


def test_loads_npz_table_with_string_labels_and_ids(tmp_path: Path) -> None:
    x = np.arange(12, dtype=np.float64).reshape(6, 2)
    y = np.array(["b", "a", "b", "a", "b", "a"])
    np.savez(tmp_path / "data.npz", X=x, y=y, ids=np.array([f"s{i}" for i in range(6)]))
    dataset = load_dataset(tmp_path / "data.npz")
    assert dataset.kind == "table" and dataset.features.dtype == np.float32
    assert dataset.class_names == ("a", "b") and dataset.labels.tolist() == [1, 0, 1, 0, 1, 0]
    assert dataset.sample_ids.tolist() == [f"s{i}" for i in range(6)]
    assert dataset.feature_names == ("x0", "x1")


def test_loads_npz_images_with_integer_labels(tmp_path: Path) -> None:
    x = np.random.default_rng(0).integers(0, 255, (6, 12, 12), dtype=np.uint8)
    np.savez(tmp_path / "data.npz", X=x, y=np.array([0, 1, 2, 0, 1, 2]))
    dataset = load_dataset(tmp_path / "data.npz")
    assert dataset.kind == "image" and dataset.features.shape == (6, 12, 12, 1)
    assert dataset.class_names == ("0", "1", "2")
    np.testing.assert_array_equal(dataset.features[..., 0], x)
    resized = load_dataset(tmp_path / "data.npz", image_size=16)
    assert resized.features.shape == (6, 16, 16, 1)


def test_rejects_npz_object_array_without_unpickling(tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"

    class Boom:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (marker.touch, ())  # type: ignore[return-value]

    labels = np.array([Boom(), "a", "b", "a"], dtype=object)
    np.savez(tmp_path / "data.npz", X=np.zeros((4, 2)), y=labels, allow_pickle=True)
    with pytest.raises(
        DatasetError, match=r"array 'y' holds pickled Python objects, which are never loaded"
    ):
        load_dataset(tmp_path / "data.npz")
    assert not marker.exists()


def test_rejects_npz_without_y_listing_the_arrays(tmp_path: Path) -> None:
    np.savez(tmp_path / "data.npz", X=np.zeros((4, 2)), labels=np.zeros(4))
    with pytest.raises(DatasetError, match=r"no array\(s\) y; .* found X, labels"):
        load_dataset(tmp_path / "data.npz")


def test_rejects_npz_length_mismatch(tmp_path: Path) -> None:
    np.savez(tmp_path / "data.npz", X=np.zeros((5, 2)), y=np.array([0, 1, 0, 1]))
    with pytest.raises(DatasetError, match=r"one row per label; got X \(5, 2\) and y \(4,\)"):
        load_dataset(tmp_path / "data.npz")


def test_rejects_npz_with_nan_feature(tmp_path: Path) -> None:
    x = np.zeros((4, 3))
    x[2, 1] = np.nan
    np.savez(tmp_path / "data.npz", X=x, y=np.array([0, 1, 0, 1]))
    with pytest.raises(DatasetError, match=r"row 3, column 'x1': the feature is missing"):
        load_dataset(tmp_path / "data.npz")


def test_rejects_file_that_is_not_an_npz(tmp_path: Path) -> None:
    (tmp_path / "data.npz").write_bytes(b"nonsense")
    with pytest.raises(DatasetError, match=r"data.npz: cannot read the .npz"):
        load_dataset(tmp_path / "data.npz")


def test_rejects_a_million_column_header_before_pandas_parses_it(tmp_path: Path) -> None:
    header = ",".join(f"c{i}" for i in range(1_000_000)) + ",label\n"
    path = write_csv(tmp_path / "wide.csv", header + "1," * 1_000_000 + "a\n")
    with pytest.raises(DatasetError, match=r"has 1000001 columns, over the limit of 100000"):
        load_dataset(path)


def test_rejects_a_first_row_longer_than_the_header(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "extra.csv", "a,b,label\n1,2,x,9\n3,4,y\n5,6,x\n7,8,y\n")
    with pytest.raises(DatasetError, match=r"extra.csv: line 2 has 4 fields but the header has 3"):
        load_dataset(path)


def test_rejects_an_infinite_float_label_in_npz(tmp_path: Path) -> None:
    path = tmp_path / "inf.npz"
    np.savez(path, X=np.ones((4, 2)), y=np.array([0.0, 1.0, np.inf, 1.0]))
    with pytest.raises(
        DatasetError, match=r"index 2: inf \(NaN or infinite\) is not a valid label"
    ):
        load_dataset(path)
