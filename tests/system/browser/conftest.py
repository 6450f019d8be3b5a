"""A real ``trapline up --demo`` per database, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import REQUEST_LIMIT, UPLOAD_LIMIT, App
from tests.support.databases import PostgresDatabases, require_postgres
from tests.support.processes import Server, clean_env, running

#: The browser the tests drive: Debian's package (scripts/test-services.sh installs it).
CHROMIUM = Path(os.environ.get("TRAPLINE_TEST_CHROMIUM", "/usr/bin/chromium"))
#: Seconds the demo job may take on a loaded machine (within the per-test time limit).
DEMO_TIMEOUT = 110.0


def _wait_for_demo(server: Server) -> int:
    deadline = time.monotonic() + DEMO_TIMEOUT
    while time.monotonic() < deadline:
        for line in server.log().splitlines():
            line = line.strip("| ")  # the summary is printed in a box, after the demo job
            if line.startswith("demo project "):
                return int(line.split()[2].rstrip(":"))
        time.sleep(0.2)
    raise AssertionError(f"the demo job did not finish:\n{server.log()}")


@pytest.fixture(
    scope="package", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def app(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_databases: PostgresDatabases,
) -> Iterator[App]:
    """``trapline up --demo`` on SQLite, then on PostgreSQL; one server per database for the
    suite's modules (their tests make what they change, or put it back)."""
    if not CHROMIUM.exists():
        pytest.skip(f"no {CHROMIUM}: run scripts/test-services.sh to install Debian's chromium")
    tmp = tmp_path_factory.mktemp(f"browser-{request.param}")
    data = tmp / "data"
    args = ["up", "--demo", "--data-dir", str(data)]
    url = None
    if request.param == "postgres":
        require_postgres()
        url = postgres_databases.new()
        args += ["--database-url", url]
    try:
        # Loopback allowed: the source run test's station listens there. Small upload limits,
        # so the drop test can send a file over them.
        # A weights folder of its own: the Processing page tells what is in it.
        env = clean_env(
            TRAPLINE_WEIGHTS_CACHE_DIR=str(tmp / "weights"),
            TRAPLINE_OUTBOUND_ALLOW_NETWORKS="127.0.0.0/8",
            TRAPLINE_MAX_UPLOAD_BYTES=str(UPLOAD_LIMIT),
            TRAPLINE_MAX_REQUEST_BYTES=str(REQUEST_LIMIT),
        )
        with running(args, cwd=tmp, env=env) as server:
            project = _wait_for_demo(server)
            yield App(
                server,
                (data / "admin-password").read_text().strip(),
                (data / "admin-token").read_text().strip(),
                project,
                tmp / "weights",
            )
    finally:
        if url:
            postgres_databases.drop(url)


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    """Chromium, headless, launched once for the suite."""
    if not CHROMIUM.exists():
        pytest.skip(f"no {CHROMIUM}: run scripts/test-services.sh to install Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page."""
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def laptop(chromium: Any) -> Iterator[Any]:
    """A fresh page at a laptop's 1366 x 768."""
    context = chromium.new_context(viewport={"width": 1366, "height": 768})
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()
