"""The demo dataset `labelaudit serve --demo` generates, and its audit on a real worker."""

import io
import zipfile
from pathlib import PurePosixPath

import pytest

from service.auth.schemas import Principal
from service.demo import DEFECTS, generate_demo, queue_demo_audit


def test_demo_moves_the_stated_share_of_images_to_wrong_folders():
    demo = generate_demo(per_class=6, wrong_share=0.2, seed=1)
    members = zipfile.ZipFile(io.BytesIO(demo.archive)).namelist()
    assert demo.n_images == len(members) == 6 * len(DEFECTS)
    folders = {PurePosixPath(member).parent.name for member in members}
    assert folders == set(DEFECTS)
    assert len(demo.wrong_labels) == 6
    for name, true_label, given_label in demo.wrong_labels:
        assert true_label != given_label
        assert f"{given_label}/{name}" in members


def test_demo_file_names_do_not_reveal_the_class():
    demo = generate_demo(per_class=4, seed=2)
    for member in zipfile.ZipFile(io.BytesIO(demo.archive)).namelist():
        name = PurePosixPath(member).name
        assert not any(defect in name for defect in DEFECTS)


@pytest.mark.slow
@pytest.mark.usefixtures("worker_process")
def test_demo_audit_flags_the_moved_images(client, database, settings, admin, audit_finished):
    state = client.app.state
    with database.session_scope() as session:
        audit = queue_demo_audit(
            session, state.storage, state.queue, settings, Principal(name="admin", role="admin")
        )
        audit_id = str(audit.id)
    finished = audit_finished(client, admin, audit_id, timeout=240)
    assert finished["status"] == "succeeded", finished
    truth = (settings.data_dir / "demo-truth.csv").read_text().splitlines()[1:]
    wrong = {line.split(",")[0] for line in truth}
    flagged = client.get(
        f"/audits/{audit_id}/samples", params={"flagged": "true", "limit": 500}, headers=admin
    ).json()["items"]
    found = {PurePosixPath(item["sample_id"]).name for item in flagged}
    assert len(found & wrong) >= 0.8 * len(wrong)
    assert len(found & wrong) >= 0.6 * len(found)
