"""Pull sources through the API: one created, and its run waited for until the runner is idle."""

from __future__ import annotations

from typing import Any

from tests.support.accounts import Account
from tests.support.app_client import AppClient

#: Seconds a run may take before a test gives up waiting for it.
RUN_WAIT = 60.0


def create_source(client: AppClient, account: Account, project: int, **body: Any) -> Any:
    return client.post(f"/api/v2/projects/{project}/sources", json=body, headers=account.headers)


def wait_run(client: AppClient, account: Account, source: int, run: int) -> dict[str, Any]:
    """The run once the source runner has nothing going."""
    runner = client.app.state.platform.sources  # type: ignore[attr-defined]
    assert runner.wait_idle(RUN_WAIT), f"run {run} went on past {RUN_WAIT}s"
    found = client.get(f"/api/v2/sources/{source}/runs/{run}", headers=account.headers).json()
    assert found["status"] not in ("queued", "running"), found
    return dict(found)
