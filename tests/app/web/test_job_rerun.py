"""Re-running from the web app: the job form says how many of the photos chosen the version
chosen analysed already (the count its script asks for when it is shown and as the choices
change), and its "Re-run" box runs them again; unticked, a job over them does nothing and says
why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.accounts import Account
from tests.support.protocol import PIPELINE_SLUG, detection, success
from tests.support.protocol_client import API, Protocol, statuses
from tests.support.web import Browser

FINAL = {"succeeded", "completed_with_errors", "failed", "canceled"}


def _run(proto: Protocol, job_id: int, count: int) -> None:
    """Claim and save every task of a running job."""
    proto.wait(job_id, {"running"})
    tasks = proto.claim(job_id, count)
    assert len(tasks) == count
    assert set(statuses(proto.post(job_id, *(success(t, detection(t)) for t in tasks)))) == {
        "saved"
    }
    proto.wait(job_id, FINAL)


def _start(olive: Browser, proto: Protocol, **fields: str) -> Any:
    answer = olive.client.post(
        f"/projects/{proto.project_id}/jobs",
        data={"csrf": olive.csrf(), "pipeline": f"{PIPELINE_SLUG}", **fields},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return proto.wait(int(answer.headers["location"].rsplit("/", 1)[1]), FINAL | {"running"})


def test_the_job_form_counts_what_was_analysed_and_reruns_it_when_ticked(
    registered: Protocol,
    sign_in: Callable[[Account], Browser],
    make_account: Callable[..., Account],
) -> None:
    proto = registered
    trap = proto.deployment("Trap A")
    at_trap = proto.images(2, deployment_id=str(trap))
    proto.images(1)
    olive = sign_in(proto.account)
    form = f"/projects/{proto.project_id}/jobs"
    fresh = olive.client.get(f"{form}/analysed", params={"pipeline": PIPELINE_SLUG}).json()
    assert fresh["note"] == "None of the 3 photos chosen was analysed by moth-test v1 yet."

    first = _start(olive, proto, scope=f"deployment:{trap}")
    _run(proto, first["id"], 2)
    asked = olive.client.get(
        f"{form}/analysed", params={"pipeline": PIPELINE_SLUG, "scope": f"deployment:{trap}"}
    ).json()
    assert (asked["selected"], asked["analysed"], asked["version"]) == (2, 2, 1)
    assert asked["note"] == (
        "All 2 photos chosen were analysed by moth-test v1 already: a job skips them unless "
        "they are re-run."
    )
    page = olive.page(form)
    # The page leaves the count to its script (it would read every analysis of the version).
    assert f'data-analysed="{form}/analysed"></p>' in page
    assert "photos chosen" not in page
    assert 'name="reprocess" value="yes"' in page

    # Unticked, a second job over the same photos does nothing and says how to re-run them.
    again = _start(olive, proto, scope=f"deployment:{trap}")
    assert again["counts"]["total"] == 0
    said = " ".join(e["message"] for e in proto.wait(again["id"], FINAL)["events"])
    assert 'tick "Re-run the photos already analysed"' in said
    # Ticked, it runs them again.
    rerun = _start(olive, proto, scope=f"deployment:{trap}", reprocess="yes")
    assert rerun["counts"]["total"] == 2
    tasks = proto.client.get(f"{API}/jobs/{rerun['id']}/tasks/", headers=proto.headers).json()
    assert sorted(int(t["image_id"]) for t in tasks["results"]) == sorted(at_trap)
    # Photos analysed twice count once in the whole project's count.
    _run(proto, rerun["id"], 2)
    whole = olive.client.get(f"{form}/analysed", params={"pipeline": PIPELINE_SLUG}).json()
    assert (whole["selected"], whole["analysed"]) == (3, 2)

    refused = olive.client.post(
        form,
        data={"csrf": olive.csrf(), "pipeline": PIPELINE_SLUG, "reprocess": "sometimes"},
    )
    assert refused.status_code == 400
    assert "reprocess: tick the box, or leave it unticked" in refused.text
    # The count answers an outsider as a missing project does.
    eve = sign_in(make_account("eve"))
    assert eve.client.get(f"{form}/analysed").status_code == 404
    assert eve.client.get(f"{form}/analysed").text == eve.client.get(
        "/projects/999999/jobs/analysed"
    ).text.replace("999999", str(proto.project_id))
