"""The job form's pipelines: test pipelines hidden unless a setting shows them, and the form
starts on the project's last pipeline, else on a built-in real one."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.app.protocol.conftest import Protocol
from tests.app.web.conftest import Browser
from tests.conftest import Account, make_settings
from tests.support.app_client import AppClient
from tests.support.protocol import pipeline_config
from trapline.pipelines.moth_blobs import MothBlobsPipeline
from trapline.pipelines.simple import ConstantPipeline, RandomPipeline
from trapline.settings import Settings


def _options(html: str, select: str) -> tuple[list[str], str | None]:
    """The values a select offers, and the selected one."""
    body = html.split(f'id="{select}"', 1)[1].split("</select>", 1)[0]
    values = re.findall(r'<option value="([^"]*)"', body)
    chosen = re.findall(r'<option value="([^"]*)" selected', body)
    return values, chosen[0] if chosen else None


@pytest.fixture
def proto(
    client: AppClient, owner: Account, project_id: int, jpeg: Callable[..., bytes]
) -> Protocol:
    """The owner's project with two images and four pipelines: two of them test pipelines."""
    proto = Protocol(client, owner, project_id, jpeg)
    configs = [
        p.config.model_dump(mode="json")
        for p in (ConstantPipeline(), RandomPipeline(), MothBlobsPipeline())
    ]
    assert proto.register(*configs, pipeline_config("their-model")).status_code == 201
    proto.images(2)
    return proto


def test_the_form_hides_test_pipelines_and_starts_on_a_real_one(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    browser = sign_in(owner)
    jobs = browser.page(f"/projects/{proto.project_id}/jobs")
    assert _options(jobs, "pipeline") == (["moth-blobs", "their-model"], "moth-blobs")
    grid = browser.page(f"/projects/{proto.project_id}/images")
    assert _options(grid, "run-pipeline") == (["moth-blobs", "their-model"], "moth-blobs")
    # The API still runs a test pipeline; the form then starts on the last one used that it
    # offers.
    assert proto.create_job(pipeline="constant").status_code == 201
    jobs = browser.page(f"/projects/{proto.project_id}/jobs")
    assert _options(jobs, "pipeline")[1] == "moth-blobs"
    assert proto.create_job(pipeline="their-model").status_code == 201
    jobs = browser.page(f"/projects/{proto.project_id}/jobs")
    assert _options(jobs, "pipeline") == (["moth-blobs", "their-model"], "their-model")


class TestShown:
    @pytest.fixture
    def settings(
        self, request: pytest.FixtureRequest, tmp_path: Path, database_url: str
    ) -> Settings:
        return make_settings(request, tmp_path, database_url, show_test_pipelines=True)

    def test_a_setting_offers_the_test_pipelines(
        self, sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
    ) -> None:
        jobs = sign_in(owner).page(f"/projects/{proto.project_id}/jobs")
        offered, chosen = _options(jobs, "pipeline")
        assert sorted(offered) == ["constant", "moth-blobs", "random", "their-model"]
        assert chosen == "moth-blobs"
