"""Errors list a bounded number of items, however many the dataset holds."""

import json

import pytest

from formats import DatasetError
from formats.errors import LISTED_ITEMS, listing
from formats.labels import check_classes


def test_a_listing_names_the_first_items_and_counts_the_rest():
    assert listing(["a", "b"]) == "'a', 'b'"
    assert listing([]) == ""
    many = listing([f"c{i}" for i in range(200_000)])
    assert many.startswith("'c0', 'c1'") and many.endswith("'c19' and 199,980 more")
    assert listing(range(LISTED_ITEMS), shown=str).endswith(f"{LISTED_ITEMS - 1}")


def test_detail_lists_are_cut_and_counted():
    error = DatasetError(
        "x",
        code="c",
        row=3,
        names=[str(i) for i in range(50)],
        pairs={str(i): i for i in range(50)},
        few=["a"],
    )
    assert error.details["names"] == [str(i) for i in range(LISTED_ITEMS)]
    assert error.details["names_total"] == 50
    assert list(error.details["pairs"]) == [str(i) for i in range(LISTED_ITEMS)]
    assert error.details["pairs_total"] == 50
    assert error.details["few"] == ["a"] and "few_total" not in error.details
    assert error.details["row"] == 3


def test_200_000_single_sample_classes_make_a_small_error():
    counts = {f"class-{i:06d}": 1 for i in range(200_000)}
    counts["big"] = 5
    with pytest.raises(DatasetError) as raised:
        check_classes(counts)
    error = raised.value
    assert error.code == "single_sample_class"
    assert "and 199,980 more have fewer than 2 samples" in error.message
    assert len(error.details["classes"]) == LISTED_ITEMS
    assert error.details["classes_total"] == 200_000
    assert len(json.dumps({"message": error.message, "details": error.details})) < 2_000
