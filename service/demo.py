"""The demo audit `labelaudit serve --demo` queues on a first start: generated steel-surface
images in class folders, with a known share of labels moved to a wrong folder, so a new
user sees an audit run and has real suspects to review before uploading their own data."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy.orm import Session

from .audits.models import Audit
from .audits.service import create_audit
from .auth.schemas import Principal
from .config import Settings
from .queue import AuditQueue
from .storage import ReceivedUpload, Storage

DEFECTS = ("crazing", "inclusion", "patches", "pitted", "scratches")
IMAGE_SIDE = 40


@dataclass(frozen=True)
class DemoDataset:
    archive: bytes
    # (file name, true class, given class) of every image whose label was moved.
    wrong_labels: list[tuple[str, str, str]]
    n_images: int


def generate_demo(*, per_class: int = 60, wrong_share: float = 0.1, seed: int = 0) -> DemoDataset:
    """A zip of ``len(DEFECTS) * per_class`` PNGs in class folders, ``wrong_share`` of them
    in a wrong folder. File names are opaque so that nothing but the pixels tells the class."""
    rng = np.random.default_rng(seed)
    n_images = per_class * len(DEFECTS)
    true_classes = np.repeat(np.arange(len(DEFECTS)), per_class)
    given = true_classes.copy()
    moved = rng.permutation(n_images)[: round(wrong_share * n_images)]
    given[moved] = (true_classes[moved] + rng.integers(1, len(DEFECTS), moved.size)) % len(DEFECTS)
    buffer = io.BytesIO()
    wrong_labels = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for index in rng.permutation(n_images):
            name = f"img{index:04d}.png"
            png = io.BytesIO()
            Image.fromarray(_surface(int(true_classes[index]), rng)).save(png, format="PNG")
            archive.writestr(f"{DEFECTS[given[index]]}/{name}", png.getvalue())
            if given[index] != true_classes[index]:
                wrong_labels.append((name, DEFECTS[true_classes[index]], DEFECTS[given[index]]))
    return DemoDataset(buffer.getvalue(), sorted(wrong_labels), n_images)


def queue_demo_audit(
    session: Session, storage: Storage, queue: AuditQueue, settings: Settings, principal: Principal
) -> Audit:
    """Queue an audit of a generated demo dataset; the truth goes to ``demo-truth.csv`` in
    the data directory so the suspects can be checked against it."""
    demo = generate_demo()
    incoming = storage.new_incoming_path()
    incoming.write_bytes(demo.archive)
    _write_truth(settings.data_dir / "demo-truth.csv", demo.wrong_labels)
    config = {
        "name": f"Demo: steel surfaces, {len(demo.wrong_labels)} of {demo.n_images} "
        "labels wrong (demo-truth.csv)"
    }
    received = ReceivedUpload(
        path=incoming,
        filename="demo-steel-surfaces.zip",
        size=len(demo.archive),
        fields={"config": json.dumps(config)},
    )
    return create_audit(session, storage, queue, settings, received, principal)


def _write_truth(path: Path, wrong_labels: list[tuple[str, str, str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("file", "true_label", "given_label"))
        writer.writerows(wrong_labels)


def _surface(defect: int, rng: np.random.Generator) -> np.ndarray:
    """A grey rolled-steel texture with one kind of defect drawn on it, uint8 (side, side)."""
    side = IMAGE_SIDE
    rows, cols = np.mgrid[0:side, 0:side].astype(np.float32)
    streaks = rng.normal(0, 6, (side, 1)) * np.ones((1, side))
    image = 140 + streaks + rng.normal(0, 8, (side, side))
    kind = DEFECTS[defect]
    if kind == "crazing":
        # A net of thin dark cracks: several short random lines in every direction.
        for _ in range(8):
            image -= 45 * _line(rows, cols, rng, width=0.8, length=side / 3)
    elif kind == "inclusion":
        for _ in range(rng.integers(2, 4)):
            centre = rng.uniform(6, side - 6, 2)
            image -= 70 * _blob(rows, cols, centre, (rng.uniform(1.5, 3), rng.uniform(5, 9)))
    elif kind == "patches":
        centre = rng.uniform(side * 0.3, side * 0.7, 2)
        radius = rng.uniform(side * 0.2, side * 0.3)
        image -= 55 * _blob(rows, cols, centre, (radius, radius))
    elif kind == "pitted":
        for _ in range(rng.integers(15, 25)):
            image -= 60 * _blob(rows, cols, rng.uniform(2, side - 2, 2), (1.0, 1.0))
    else:
        image += 80 * _line(rows, cols, rng, width=1.0, length=side * 1.5)
    return np.clip(image, 0, 255).astype(np.uint8)


def _blob(
    rows: np.ndarray, cols: np.ndarray, centre: np.ndarray, radii: tuple[float, float]
) -> np.ndarray:
    return np.exp(-(((rows - centre[0]) / radii[0]) ** 2 + ((cols - centre[1]) / radii[1]) ** 2))


def _line(
    rows: np.ndarray, cols: np.ndarray, rng: np.random.Generator, *, width: float, length: float
) -> np.ndarray:
    """A straight segment through a random point at a random angle, soft-edged."""
    side = rows.shape[0]
    centre = rng.uniform(side * 0.2, side * 0.8, 2)
    angle = rng.uniform(0, np.pi)
    along = (rows - centre[0]) * np.sin(angle) + (cols - centre[1]) * np.cos(angle)
    across = (rows - centre[0]) * np.cos(angle) - (cols - centre[1]) * np.sin(angle)
    return np.exp(-((across / width) ** 2)) * (np.abs(along) < length / 2)
