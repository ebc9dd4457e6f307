"""The label policy: text as written, stripped; numbers by value; two classes of two."""

import numpy as np
import pytest

from formats import DatasetError
from formats.labels import (
    check_classes,
    class_order,
    encode_labels,
    id_texts,
    label_texts,
    number_texts,
)


def row(i: int) -> dict[str, int]:
    return {"row": i + 1}


def test_words_that_often_mean_missing_are_class_names():
    texts = label_texts(np.array(["NA", "None", "null", "N/A", "0", "01"], dtype=object), row)
    assert texts.tolist() == ["NA", "None", "null", "N/A", "0", "01"]


def test_labels_are_stripped_and_a_blank_one_is_missing():
    assert label_texts(np.array([" cat", "cat ", "\tdog"], dtype=object), row).tolist() == [
        "cat",
        "cat",
        "dog",
    ]
    with pytest.raises(DatasetError, match="row 2 has no label") as raised:
        label_texts(np.array(["cat", "  ", "dog"], dtype=object), row)
    assert raised.value.code == "missing_label" and raised.value.details == {"row": 2}


def test_ids_are_kept_as_written_and_a_blank_one_is_missing():
    assert id_texts(np.array([" a", "b "], dtype=object), row).tolist() == [" a", "b "]
    with pytest.raises(DatasetError, match="row 1 has no id") as raised:
        id_texts(np.array([None, "b"], dtype=object), row)
    assert raised.value.code == "missing_id"


def test_numbers_name_classes_by_value():
    assert number_texts(np.array([1.0, 2.0, 1.0]), row).tolist() == ["1", "2", "1"]
    assert number_texts(np.array([1, 2]), row).tolist() == ["1", "2"]
    assert number_texts(np.array([0.5, 1.0]), row).tolist() == ["0.5", "1.0"]
    with pytest.raises(DatasetError, match="row 2: nan") as raised:
        number_texts(np.array([1.0, np.nan]), row)
    assert raised.value.code == "bad_label"


def test_integer_classes_sort_numerically_and_others_as_text():
    assert class_order(["10", "2", "1"]) == ["1", "2", "10"]
    assert class_order(["1", "01"]) == ["01", "1"]
    assert class_order(["b", "a", "10"]) == ["10", "a", "b"]


def test_an_audit_needs_two_classes_of_two_samples():
    assert check_classes({"b": 2, "a": 3}) == {"a": 3, "b": 2}
    with pytest.raises(DatasetError, match="the labels hold 'a'") as raised:
        check_classes({"a": 4})
    assert raised.value.code == "too_few_classes"
    with pytest.raises(DatasetError, match=r"class\(es\) 'b' have fewer than 2") as raised:
        check_classes({"a": 4, "b": 1})
    assert raised.value.code == "single_sample_class"


def test_encoding_indexes_the_sorted_class_names():
    names, codes = encode_labels(np.array(["10", "2", "10", "2"]))
    assert names == ("2", "10") and codes.tolist() == [1, 0, 1, 0]
