"""An upload whose training would exceed the workers' memory budget is refused at once."""

from .test_malformed_uploads import assert_nothing_left


def wide_csv(rows: int, classes: int) -> bytes:
    lines = ["id,label,x"] + [f"s{i},c{i % classes},{i % 7}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def test_twenty_thousand_rows_of_ten_thousand_classes_are_refused(client, settings, admin):
    # The 662 KB CSV: its training buffers were 4 GB a view, and it was accepted.
    response = client.post(
        "/audits", headers=admin, files={"file": ("wide.csv", wide_csv(20_000, 10_000))}
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "dataset_too_large_to_train"
    assert "20,000 samples of 10,000 classes" in error["message"]
    assert "LABELAUDIT_MAX_TRAINING_MEMORY_BYTES" in error["message"]
    assert error["details"]["budget_bytes"] == settings.max_training_memory_bytes
    assert_nothing_left(client, settings)


def test_the_budget_reads_the_audits_options(client, settings, admin):
    # Fewer views (dynamics mode trains one model) fit where the default two do not.
    # 24,000 rows of 4,000 classes: 1.9 GB with one view, 2.3 GB with two (2 GiB budget),
    # 0.4 GB of that the class-by-class tables.
    assert settings.max_training_memory_bytes == 2 * 1024**3
    rows, classes = 24_000, 4_000
    data = wide_csv(rows, classes)
    refused = client.post("/audits", headers=admin, files={"file": ("wide.csv", data)})
    assert refused.status_code == 422, refused.text
    accepted = client.post(
        "/audits",
        headers=admin,
        files={"file": ("wide.csv", data)},
        data={"config": '{"mode": "dynamics"}'},
    )
    assert accepted.status_code == 202, accepted.text
