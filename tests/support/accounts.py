"""The people tests act as, and the one request every kind of test makes of them: an upload."""

from __future__ import annotations

import io
from dataclasses import dataclass

from tests.support.app_client import AppClient


@dataclass(frozen=True)
class Account:
    """A user the tests act as."""

    id: int
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}


def upload(
    client: AppClient, account: Account, project: int, *files: tuple[str, bytes], **form: str
) -> dict:
    """POST files to a project's images; returns the JSON body (asserting nothing)."""
    response = client.post(
        f"/api/v2/projects/{project}/images/",
        files=[
            ("files", (name, io.BytesIO(data), "application/octet-stream")) for name, data in files
        ],
        data=form,
        headers=account.headers,
    )
    return {"status": response.status_code, **response.json()}
