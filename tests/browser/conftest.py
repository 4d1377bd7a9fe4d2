"""A served dashboard for the browser: uvicorn in a thread on a free port, over SQLite in a
temporary directory, seeded with the Skardu story `tijarat serve` seeds (tijarat.cli.demo_story:
the hub and two Karachi banks, Baltistan Orchards with its stock, suppliers, purchase orders and
bills, a marketplace order shipped, delivered and paid out of escrow, a QR payment, a repeat
order waiting to ship); and Debian's Chromium driven by Playwright (its own browser download
does not work offline). The screenshots in docs/screenshots/ are taken of this story.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from argon2 import PasswordHasher

from tijarat.asgi import create
from tijarat.bootstrap import Container, build
from tijarat.cli import demo_story
from tijarat.identity import users
from tijarat.kernel.clock import ManualClock, from_ns
from tijarat.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
REFRESH_SCREENSHOTS = os.environ.get("TIJARAT_REFRESH_SCREENSHOTS") == "1"
STORY_DAYS_BACK = 6  # as `tijarat serve` plays it: in the recent past, then time runs on
LOGINS = {role: (username, password) for username, password, role in demo_story.DEMO_USERS}


@dataclass
class Served:
    url: str
    container: Container
    business_id: uuid.UUID
    supplier_number: str  # a Karachi supplier's Raast ID, at another bank (Meezan)
    supplier_name: str
    business_login: tuple[str, str] = LOGINS["business"]
    operator_login: tuple[str, str] = LOGINS["operator"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def seed(container: Container, clock: ManualClock) -> tuple[uuid.UUID, str, str]:
    """The Skardu story; then the clock comes to the present, as when `serve` starts."""
    report = demo_story.play(container, clock)
    assert report.ok, [step for step in report.steps if not step[2]]
    business_id = uuid.UUID(report.business_id)
    supplier = next(s for s in container.supply.suppliers(business_id) if s.raast_id)
    assert supplier.raast_id is not None
    clock.advance(datetime.now(UTC) - from_ns(clock.now_ns()))
    return business_id, supplier.raast_id, supplier.name


# Module scope, not session: the server's cheap password hashing (patched below) must be
# undone before other folders' tests run, which check the real Argon2 parameters.
@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium (/usr/bin/chromium) is not installed")
    directory = tmp_path_factory.mktemp("served")
    clock = ManualClock(datetime.now(UTC) - timedelta(days=STORY_DAYS_BACK))
    container = build(
        Settings(database_url=f"sqlite:///{directory}/tijarat.db", environment="test"),
        clock=clock,
    )
    # Cheap password hashing for the story's users: every test signs in, and Argon2's
    # production cost is paid once per sign-in (it is tested in tests/integration).
    patch = pytest.MonkeyPatch()
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    patch.setattr(users, "_hasher", lambda: fast)
    business_id, supplier_number, supplier_name = seed(container, clock)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create(container), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the dashboard server did not start")
        time.sleep(0.05)
    try:
        yield Served(
            f"http://127.0.0.1:{port}", container, business_id, supplier_number, supplier_name
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        container.close()
        patch.undo()


@pytest.fixture
def shoot(tmp_path: Path) -> Callable[..., None]:
    """Save a full-page screenshot (or of one element, by CSS selector): into
    docs/screenshots/ only when refreshing them."""

    def save(page: Any, name: str, selector: str | None = None) -> None:
        target = SCREENSHOTS if REFRESH_SCREENSHOTS else tmp_path
        target.mkdir(parents=True, exist_ok=True)
        path = str(target / f"{name}.png")
        if selector is None:
            page.screenshot(path=path, full_page=True)
            return
        # The part of the page that holds every element the selector names.
        boxes = page.evaluate(
            """selector => [...document.querySelectorAll(selector)].map(element => {
                const box = element.getBoundingClientRect();
                return [box.left + scrollX, box.top + scrollY, box.right + scrollX,
                        box.bottom + scrollY];
            })""",
            selector,
        )
        assert boxes, f"nothing on the page matches {selector}"
        margin = 8
        left = max(0, min(box[0] for box in boxes) - margin)
        top = max(0, min(box[1] for box in boxes) - margin)
        width = max(box[2] for box in boxes) + margin - left
        height = max(box[3] for box in boxes) + margin - top
        clip = {"x": left, "y": top, "width": width, "height": height}
        page.screenshot(path=path, full_page=True, clip=clip)

    return save


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()
