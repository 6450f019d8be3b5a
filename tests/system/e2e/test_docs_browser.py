"""The Swagger UI page in a real browser with no way out of the machine: it renders, and a
token pasted into "Authorize" makes "Try it out" work."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.processes import clean_env, running
from tests.support.workers import prepared_account

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
def test_swagger_ui_works_offline_with_a_pasted_token(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    env = clean_env(TRAPLINE_DATA_DIR=str(tmp_path / "d"))
    token = prepared_account(env, "ann@example.org")
    with running(["serve"], cwd=tmp_path, env=env) as server, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        outside: list[str] = []

        def only_the_server(route: sync_api.Route) -> None:
            if route.request.url.startswith(server.url):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_the_server)
        page.goto(f"{server.url}/api/v2/docs")
        page.wait_for_selector(".opblock", timeout=30_000)
        tags = page.locator(".opblock-tag").all_inner_texts()
        assert tags[0].startswith("projects")
        page.click("button.authorize")
        page.fill(".modal-ux input", token)
        page.click(".modal-ux button.authorize")
        page.click(".modal-ux button.btn-done")
        me = page.locator("#operations-users-me_api_v2_users_me_get")
        me.locator(".opblock-summary").click()
        me.locator("button.try-out__btn").click()
        me.locator("button.execute").click()
        status = me.locator(".live-responses-table tbody .response-col_status").first
        status.wait_for(timeout=30_000)
        assert status.inner_text().strip() == "200"
        assert "ann@example.org" in me.locator(".live-responses-table").inner_text()
        browser.close()
    assert outside == []
