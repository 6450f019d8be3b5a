"""A job takes the settings its pipeline declares for one run (issue "The second pass", item
18): a pipeline with a default threshold takes a run's own threshold, which decides which of
that run's boxes count and is shown on the job (API and page); a pipeline that declares none
refuses one (both databases)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tests.support.accounts import Account
from tests.support.protocol import detection, pipeline_config, success
from tests.support.protocol_client import Protocol
from tests.support.scenes import add_frames, event_of, new_deployment, occurrences_of, track_all
from tests.support.web import Browser


def _counted(proto: Protocol, **params: Any) -> tuple[dict[str, Any], int]:
    """A run of a threshold-0.5 pipeline, with ``params``, finding one box its detector scored
    0.3; the job, and how many individuals its photo counts."""
    config = pipeline_config(default_threshold=0.5)
    assert proto.register(config).status_code in (200, 201)
    trap = new_deployment(proto, "Sheet")
    add_frames(proto, trap, 1, timedelta(seconds=10), size=(160, 120))
    job = proto.job_that_runs(params={"max_attempts": 1, **params})
    (task,) = proto.claim(job["id"], 1)
    found = {**detection(task, scores=[0.3, 0.4, 0.3]), "score": 0.3}
    assert [a["status"] for a in proto.post(job["id"], success(task, found))] == ["saved"]
    track_all(proto)
    return proto.job(job["id"]), len(occurrences_of(proto, event_of(proto, trap)))


def test_a_runs_lower_threshold_counts_its_weaker_boxes_and_is_shown(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    job, counted = _counted(proto, settings={"threshold": 0.2})
    assert counted == 1
    assert job["params"]["settings"] == {"threshold": 0.2}
    page = sign_in(proto.account).page(f"/jobs/{job['id']}")
    assert "Settings of this run: threshold 0.2 " in page


def test_without_a_setting_the_pipelines_threshold_holds(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    job, counted = _counted(proto)
    assert counted == 0
    assert "settings" not in job["params"]
    assert "Settings of this run" not in sign_in(proto.account).page(f"/jobs/{job['id']}")


def test_a_setting_the_pipeline_does_not_declare_is_refused(proto: Protocol) -> None:
    assert proto.register(pipeline_config()).status_code in (200, 201)
    proto.images(1)
    refused = proto.create_job(params={"settings": {"threshold": 0.2}})
    assert refused.status_code == 400, refused.text
    assert refused.json()["detail"] == (
        "params.settings.threshold: pipeline 'moth-test' v1 declares no threshold, so a "
        "run of it takes none"
    )
    for wrong, said in (
        ({"threshold": 1.5}, "params.settings.threshold: Input should be less than or equal to 1"),
        ({"threshold": "low"}, "params.settings.threshold:"),
        ({"nms": 0.4}, "params.settings.nms:"),
    ):
        answer = proto.create_job(params={"settings": wrong})
        assert answer.status_code == 400, answer.text
        assert answer.json()["detail"].startswith(said), answer.text
