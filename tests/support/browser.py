"""The browser tests' app (a running ``trapline up --demo``), its upload limits, and signing in
through the form in Chromium."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.processes import Server


@dataclass
class App:
    """A running server with the demo project, its admin's password and token."""

    server: Server
    password: str
    token: str
    demo_project: int
    #: The folder its built-in worker keeps model weights in.
    weights: Path

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A call to the API as the admin."""
        headers = {"Authorization": f"Token {self.token}"}
        return httpx.request(
            method, f"{self.url}/api/v2{path}", headers=headers, timeout=60, **kwargs
        )


#: The server's limits for one uploaded file and for one request, in bytes.
UPLOAD_LIMIT = 2 * 1024 * 1024
REQUEST_LIMIT = 3 * 1024 * 1024


def sign_in(
    page: Any, app: App, email: str = "admin@localhost", password: str | None = None
) -> None:
    """Sign in through the form."""
    page.goto(f"{app.url}/signin")
    page.fill("#email", email)
    page.fill("#password", password or app.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{app.url}/projects")
