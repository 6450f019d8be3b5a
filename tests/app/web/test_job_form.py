"""The job form's pipelines: test pipelines hidden unless a setting shows them; the form
starts on the project's last pipeline, else on the built-in real one its kind prefers (a
camera trap's MegaDetector, offered even before a worker serves it, a light trap's
moth-blobs); a pipeline that cannot run yet says why (from the Processing page's readiness),
and a job of it is refused as the API refuses it; a registered one with no worker online is
taken with a warning."""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.protocol import pipeline_config
from tests.support.protocol_client import Protocol
from tests.support.scenes import import_md
from tests.support.settings import make_settings
from tests.support.web import Browser
from trapline.db.engine import Database
from trapline.db.tables import ProcessingServiceRow, WorkerRow
from trapline.pipelines.moth_blobs import MothBlobsPipeline
from trapline.pipelines.simple import ConstantPipeline, RandomPipeline
from trapline.settings import Settings

CHECKPOINT = Path(__file__).resolve().parents[2] / "data" / "yolov5" / "tiny-p6.pt"


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    """Test settings with a weights folder of the test's own (empty: MegaDetector needs its
    weights)."""
    return make_settings(request, tmp_path, database_url, weights_cache_dir=tmp_path / "weights")


def _options(page: str, select: str) -> tuple[list[str], str | None]:
    """The values a select offers, and the selected one."""
    body = page.split(f'id="{select}"', 1)[1].split("</select>", 1)[0]
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


def _notes(page: str) -> dict[str, str]:
    """The job form's notes by pipeline, as text."""
    found = re.findall(
        r'<p class="hint pipeline-note[^"]*" id="[^"]+" data-pipeline="([^"]+)">(.*?)</p>', page
    )
    return {slug: html.unescape(re.sub(r"<[^>]+>", "", text)) for slug, text in found}


def _job_count(proto: Protocol) -> int:
    answer = proto.client.get(f"/api/v2/jobs/?project_id={proto.project_id}", headers=proto.headers)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["count"])


def test_the_form_hides_test_pipelines_and_starts_on_a_real_one(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    # A camera-trap project (the fixture's): MegaDetector is offered, and chosen, before any
    # worker serves it; the image grid's form offers what workers registered.
    browser = sign_in(owner)
    jobs = browser.page(f"/projects/{proto.project_id}/jobs")
    offered = ["moth-blobs", "their-model", "megadetector"]
    assert _options(jobs, "pipeline") == (offered, "megadetector")
    grid = browser.page(f"/projects/{proto.project_id}/images")
    assert _options(grid, "run-pipeline") == (["moth-blobs", "their-model"], "moth-blobs")
    # The API still runs a test pipeline; the form then starts on the last one used that it
    # offers.
    assert proto.create_job(pipeline="trapline-constant").status_code == 201
    jobs = browser.page(f"/projects/{proto.project_id}/jobs")
    assert _options(jobs, "pipeline")[1] == "megadetector"
    assert proto.create_job(pipeline="their-model").status_code == 201
    jobs = browser.page(f"/projects/{proto.project_id}/jobs")
    assert _options(jobs, "pipeline") == (offered, "their-model")


def test_a_light_trap_project_starts_on_moth_blobs_without_megadetector(
    sign_in: Callable[[Account], Browser], owner: Account, client: AppClient,
    jpeg: Callable[..., bytes],
) -> None:  # fmt: skip
    made = client.post(
        "/api/v2/projects/", json={"name": "Sheet", "kind": "light_trap"}, headers=owner.headers
    )
    assert made.status_code == 201, made.text
    proto = Protocol(client, owner, int(made.json()["id"]), jpeg)
    configs = [p.config.model_dump(mode="json") for p in (MothBlobsPipeline(), RandomPipeline())]
    assert proto.register(*configs, pipeline_config("their-model")).status_code == 201
    jobs = sign_in(owner).page(f"/projects/{proto.project_id}/jobs")
    assert _options(jobs, "pipeline") == (["moth-blobs", "their-model"], "moth-blobs")
    assert _notes(jobs) == {}
    # A worker that serves MegaDetector offers it there too, after moth-blobs.
    assert proto.register(pipeline_config("megadetector"), name="GPU box").status_code == 201
    jobs = sign_in(owner).page(f"/projects/{proto.project_id}/jobs")
    assert _options(jobs, "pipeline") == (
        ["megadetector", "moth-blobs", "their-model"],
        "moth-blobs",
    )


def test_megadetector_not_served_says_why_and_a_job_of_it_is_refused(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    proto: Protocol,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    browser = sign_in(owner)
    path = f"/projects/{proto.project_id}/jobs"
    jobs = browser.page(path)
    note = _notes(jobs)["megadetector"]
    folder = settings.worker.weights_cache_dir
    assert note.startswith("megadetector: MegaDetector v5a needs its weights: a worker with")
    assert "trapline worker --pipeline megadetector" in note
    assert f"put them in {folder}" in note
    assert f'<a href="/projects/{proto.project_id}/processing">how to make it ready' in jobs
    assert 'aria-describedby="pipeline-note-1 "' in jobs
    assert ">MegaDetector v5a — not ready</option>" in jobs

    # Submitted as it stands, it is refused in words, with what the person chose kept.
    answer = browser.post(
        path, {"pipeline": "megadetector", "scope": "project", "name": "Burst"}, csrf_from=path
    )
    assert answer.status_code == 400  # type: ignore[attr-defined]
    page = answer.text  # type: ignore[attr-defined]
    error = html.unescape(page.split('id="pipeline-error"', 1)[1].split("</p>", 1)[0])
    assert "pipeline: not started. MegaDetector v5a needs its weights" in error
    assert _options(page, "pipeline")[1] == "megadetector"
    assert 'value="Burst"' in page
    assert _job_count(proto) == 0

    # A worker converting its checkpoint (its partial file is being written).
    folder.mkdir(parents=True)
    partial = folder / ".md_v5a.onnx.1a2b3c4d.part"
    partial.write_bytes(b"")
    note = _notes(browser.page(path))["megadetector"]
    assert "MegaDetector v5a is converting its weights: a worker is converting" in note
    assert "no worker serves it yet" in note
    partial.unlink()

    # Its weights in place, it still waits for a worker to serve it here.
    (folder / "md_v5a.0.0.pt").write_bytes(CHECKPOINT.read_bytes())
    note = _notes(browser.page(path))["megadetector"]
    assert "has its weights, but no worker serves it in this project yet" in note
    assert "restart trapline up, or start trapline worker --pipeline megadetector" in note

    # Without ONNX Runtime it cannot run whatever the folder holds.
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    note = _notes(browser.page(path))["megadetector"]
    assert "MegaDetector v5a needs the [onnx] extra" in note
    assert "pip install 'trapline[onnx]'" in note


def test_a_registered_pipeline_with_no_worker_online_is_taken_with_a_warning(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol, app_db: Database
) -> None:
    assert proto.register(pipeline_config("megadetector"), name="GPU box").status_code == 201
    browser = sign_in(owner)
    path = f"/projects/{proto.project_id}/jobs"
    jobs = browser.page(path)
    assert _options(jobs, "pipeline")[1] == "megadetector"
    assert "not ready" not in jobs
    assert _notes(jobs) == {}

    with app_db.write() as repos:  # every worker last seen long ago
        long_ago = datetime(2020, 1, 1, tzinfo=UTC)
        repos.session.execute(ProcessingServiceRow.__table__.update().values(last_seen_at=long_ago))
        repos.session.execute(WorkerRow.__table__.update().values(last_seen_at=long_ago))
    jobs = browser.page(path)
    notes = _notes(jobs)
    assert notes["megadetector"] == (
        "megadetector: no worker that serves it is online now: a job of it waits until one is. "
        "Processing lists the workers."
    )
    answer = browser.post(path, {"pipeline": "megadetector", "scope": "project"}, csrf_from=path)
    assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
    assert _job_count(proto) == 1


class TestShown:
    @pytest.fixture
    def settings(
        self, request: pytest.FixtureRequest, tmp_path: Path, database_url: str
    ) -> Settings:
        return make_settings(
            request,
            tmp_path,
            database_url,
            show_test_pipelines=True,
            weights_cache_dir=tmp_path / "weights",
        )

    def test_a_setting_offers_the_test_pipelines(
        self, sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
    ) -> None:
        jobs = sign_in(owner).page(f"/projects/{proto.project_id}/jobs")
        offered, chosen = _options(jobs, "pipeline")
        assert sorted(offered) == [
            "megadetector",
            "moth-blobs",
            "their-model",
            "trapline-constant",
            "trapline-random",
        ]
        assert chosen == "megadetector"


def test_an_imported_model_is_no_job_pipeline(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    """MegaDetector results imported into the project make a pipeline of their own, which
    nothing runs: the job forms do not offer it and the API refuses a job of it, saying why,
    instead of a job that waits for a worker that cannot exist."""
    names = [
        i["filename"]
        for i in proto.client.get(
            f"/api/v2/projects/{proto.project_id}/images/", headers=proto.headers
        ).json()["results"]
    ]
    import_md(proto, {names[0]: [{"category": "1", "conf": 0.9, "bbox": [0.1, 0.1, 0.2, 0.2]}]})
    listed = proto.client.get(
        f"/api/v2/projects/{proto.project_id}/pipelines", headers=proto.headers
    ).json()["results"]
    (imported,) = [p["slug"] for p in listed if p["slug"].startswith("megadetector-import-")]
    browser = sign_in(owner)
    assert (
        imported not in _options(browser.page(f"/projects/{proto.project_id}/jobs"), "pipeline")[0]
    )
    grid = browser.page(f"/projects/{proto.project_id}/images")
    assert imported not in _options(grid, "run-pipeline")[0]
    refused = proto.create_job(pipeline=imported)
    assert refused.status_code == 400, refused.text
    assert "holds imported results" in refused.json()["detail"]
    before = _job_count(proto)
    answer = browser.post(
        f"/projects/{proto.project_id}/jobs", {"pipeline": imported, "scope": "project"}
    )
    assert answer.status_code == 400  # type: ignore[attr-defined]
    assert "holds imported results" in html.unescape(answer.text)  # type: ignore[attr-defined]
    assert _job_count(proto) == before


def test_a_job_runs_the_version_it_names(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    """Two versions of a pipeline registered: the API runs the one a job names (the newest by
    default, a 400 naming those there are for another) and the form offers each by its
    version, starting on the newest (issue 59, item 4)."""
    assert proto.register(pipeline_config("their-model", version=2)).status_code == 201
    newest = proto.create_job(pipeline="their-model")
    assert (newest.status_code, newest.json()["pipeline_version"]) == (201, 2)
    older = proto.create_job(pipeline="their-model", pipeline_version=1)
    assert (older.status_code, older.json()["pipeline_version"]) == (201, 1)
    missing = proto.create_job(pipeline="their-model", pipeline_version=3)
    assert missing.status_code == 400, missing.text
    assert "has no version 3 enabled" in missing.json()["detail"]
    assert "(its versions: 1, 2)" in missing.json()["detail"]

    browser = sign_in(owner)
    jobs = browser.page(f"/projects/{proto.project_id}/jobs")
    values, _ = _options(jobs, "pipeline")
    assert [v for v in values if v.startswith("their-model")] == ["their-model@1", "their-model@2"]
    assert "(their-model v1)" in jobs
    assert "(their-model v2)" in jobs
    chosen = re.findall(r'<option value="(their-model[^"]*)" selected', jobs)
    assert chosen in ([], ["their-model@2"])  # another pipeline may be preselected
    before = _job_count(proto)
    answer = browser.post(
        f"/projects/{proto.project_id}/jobs", {"pipeline": "their-model@1", "scope": "project"}
    )
    assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
    assert _job_count(proto) == before + 1
    made = proto.client.get(
        f"/api/v2/jobs/?project_id={proto.project_id}&limit=1", headers=proto.headers
    ).json()["results"][0]
    assert (made["pipeline_slug"], made["pipeline_version"]) == ("their-model", 1)
