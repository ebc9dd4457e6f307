"""What the browser tests share: Chromium's settings, the running service's address and
keys, and small page helpers. The fixtures that start them are in conftest.py."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
LAPTOP = {"width": 1366, "height": 900}
TABLET = {"width": 820, "height": 1180}
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
# The thumbnails in view (those below load lazily, when scrolled to) have arrived.
IMAGES_LOADED = """() => [...document.querySelectorAll(".card img")]
    .filter((image) => image.getBoundingClientRect().top < innerHeight)
    .every((image) => image.complete)"""


class Service:
    def __init__(self, url: str, admin_key: str, reviewer_key: str, data_dir: Path) -> None:
        self.url = url
        self.admin_key = admin_key
        self.reviewer_key = reviewer_key
        self.data_dir = data_dir  # its embedded database and uploads, for seeding audits

    def api(self, key: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def wait_until(page: Any, script: str, timeout: float = 15) -> None:
    """Poll ``script`` (a function) until it returns true. Not page.wait_for_function: it
    compiles its predicate with eval, which the pages' Content-Security-Policy forbids."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {script}"
        page.wait_for_timeout(100)


def screenshot(page: Any, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=full_page)


def watched(context: Any, problems: list[str]) -> Any:
    """Collect the script errors and Content-Security-Policy violations of every page."""
    context.on("weberror", lambda error: problems.append(f"script error: {error.error}"))
    context.on(
        "console",
        lambda message: (
            problems.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return context


def sign_in(page: Any, service: Service, key: str) -> None:
    page.goto(f"{service.url}/")
    assert "/sign-in?next=" in page.url, "signed out, the list sends the browser to sign in"
    page.fill("#key", key)
    page.click("form[action='/sign-in'] button[type=submit]")
    page.wait_for_url(f"{service.url}/")


def finished(api: httpx.Client, audit_id: str) -> dict[str, Any]:
    """The audit once it has succeeded (fails the test if it fails or takes 3 minutes)."""
    deadline = time.monotonic() + 180
    while (audit := api.get(f"/audits/{audit_id}").json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, f"audit {audit_id} did not finish: {audit}"
        time.sleep(0.3)
    assert audit["status"] == "succeeded", audit
    return audit


def audit_upload(
    service: Service, content: bytes, config: dict[str, Any], *, filename: str = "steel.zip"
) -> dict[str, Any]:
    """Upload a dataset through the API as the admin; the finished audit."""
    with service.api(service.admin_key) as api:
        created = api.post(
            "/audits",
            files={"file": (filename, content)},
            data={"config": json.dumps(config)},
        )
        assert created.status_code == 202, created.text
        return finished(api, created.json()["id"])
