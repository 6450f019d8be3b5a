"""The job form's threshold: a run's own threshold typed beside the pipeline, its default named
in the field; empty takes the pipeline's; a bad one (no number, out of 0 to 1, too long, or for
a pipeline that declares no threshold) comes back beside the field, and no job is made (both
databases)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.protocol import pipeline_config
from tests.support.protocol_client import Protocol
from tests.support.web import Browser
from trapline.pipelines.moth_blobs import MothBlobsPipeline


@pytest.fixture
def proto(
    client: AppClient, owner: Account, project_id: int, jpeg: Callable[..., bytes]
) -> Protocol:
    """The owner's project with two images, moth-blobs (default threshold 0.5) and a
    pipeline that declares none."""
    proto = Protocol(client, owner, project_id, jpeg)
    config = MothBlobsPipeline().config.model_dump(mode="json")
    assert proto.register(config, pipeline_config("their-model")).status_code == 201
    proto.images(2)
    return proto


def _jobs(proto: Protocol) -> list[dict[str, object]]:
    answer = proto.client.get(f"/api/v2/jobs/?project_id={proto.project_id}", headers=proto.headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["results"])


def _start(browser: Browser, proto: Protocol, pipeline: str, threshold: str) -> object:
    path = f"/projects/{proto.project_id}/jobs"
    form = {"pipeline": pipeline, "scope": "project", "threshold": threshold}
    return browser.post(path, form, csrf_from=path)


def _field(page: str) -> str:
    """The threshold input's tag."""
    found = re.search(r'<input id="job-threshold"[^>]*>', page)
    assert found is not None
    return found.group(0)


def test_the_form_names_each_pipelines_default_threshold(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    page = sign_in(owner).page(f"/projects/{proto.project_id}/jobs")
    choices = page.split('id="pipeline"', 1)[1].split("</select>", 1)[0]
    offered = dict(
        re.findall(r'<option value="([^"]+)"(?: selected)?( data-threshold="[^"]*")?', choices)
    )
    assert offered == {"moth-blobs": ' data-threshold="0.5"', "their-model": "", "megadetector": ""}
    assert 'name="threshold"' in _field(page)
    # The project's preselected MegaDetector, not registered here, declares none yet.
    assert 'placeholder=""' in _field(page)
    assert "the pipeline declares no threshold, so a run of it takes none" in page


@pytest.mark.parametrize("typed", ["0.35", "0,35", " 0.35 "])
def test_a_typed_threshold_is_the_runs_own_and_its_page_shows_it(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol, typed: str
) -> None:
    browser = sign_in(owner)
    answer = _start(browser, proto, "moth-blobs", typed)
    assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
    (job,) = _jobs(proto)
    assert job["params"]["settings"] == {"threshold": 0.35}  # type: ignore[index]
    assert answer.headers["location"] == f"/jobs/{job['id']}"  # type: ignore[attr-defined]
    page = browser.page(f"/jobs/{job['id']}")
    assert "Settings of this run: threshold 0.35 " in page


def test_an_empty_threshold_takes_the_pipelines(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    browser = sign_in(owner)
    for pipeline in ("moth-blobs", "their-model"):
        answer = _start(browser, proto, pipeline, "")
        assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
    assert [("settings" in j["params"]) for j in _jobs(proto)] == [False, False]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("pipeline", "typed", "said"),
    [
        ("moth-blobs", "abc", "threshold: a number from 0 to 1 (got 'abc')"),
        ("moth-blobs", "-1", "threshold: a number from 0 to 1 (got -1)"),
        ("moth-blobs", "2", "threshold: a number from 0 to 1 (got 2)"),
        ("moth-blobs", "nan", "threshold: a number from 0 to 1 (got nan)"),
        ("moth-blobs", "0." + "3" * 40, "threshold: a number from 0 to 1 (got 42 characters)"),
        (
            "their-model",
            "0.35",
            "threshold: pipeline 'their-model' v1 declares no threshold, so a run of it takes none",
        ),
    ],
)
def test_a_bad_threshold_comes_back_beside_the_field(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    proto: Protocol,
    pipeline: str,
    typed: str,
    said: str,
) -> None:
    answer = _start(sign_in(owner), proto, pipeline, typed)
    assert answer.status_code == 400, answer.text  # type: ignore[attr-defined]
    page = html.unescape(answer.text)  # type: ignore[attr-defined]
    field = _field(page)
    assert 'aria-invalid="true"' in field
    assert 'aria-describedby="threshold-error threshold-hint"' in field
    assert f'value="{typed[:20]}"' in field
    error = re.search(r'<p class="error" id="threshold-error" role="alert">([^<]*)</p>', page)
    assert error is not None
    assert error.group(1) == said
    # Beside the field: right after its input, before the next field.
    assert page.index(field) < page.index(error.group(0)) < page.index('id="job-name"')
    assert 'id="pipeline-error"' not in page
    assert _jobs(proto) == []
    if pipeline == "moth-blobs":
        assert 'placeholder="0.5"' in field
        assert "the pipeline's own, 0.5</span>" in page
