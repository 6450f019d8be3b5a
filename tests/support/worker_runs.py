"""A pipeline run over one photo as trapline's pull worker runs it (its pipeline's ``process``
and the runner's result item), posted to the app of the test; and ``trapline.client`` talking
to that app."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image

from tests.support.accounts import upload
from tests.support.onnx_models import moth_and_leaf
from tests.support.protocol_client import Protocol
from tests.support.scenes import new_deployment
from trapline.client import Client
from trapline.pipelines import Pipeline, SourceImage
from trapline.protocol.tasks import TaskOut
from trapline.worker.client import Task
from trapline.worker.runner import _result_item


def run_as_worker(proto: Protocol, pipeline: Pipeline) -> dict[str, Any]:
    """Register ``pipeline``, run a job of it over one photo of ``moth_and_leaf`` as a worker
    does; the photo as the API shows it afterwards (with its ``job_id`` in each analysis)."""
    registered = proto.register(pipeline.config.model_dump(mode="json"))
    assert registered.status_code in (200, 201), registered.text
    trap = new_deployment(proto, "Trap")
    photo = io.BytesIO()
    moth_and_leaf().save(photo, "JPEG", quality=95)
    made = upload(
        proto.client, proto.account, proto.project_id,
        ("20240621-220000.jpg", photo.getvalue()), deployment_id=str(trap),
    )  # fmt: skip
    assert made["status"] == 201, made
    job = proto.job_that_runs(pipeline=pipeline.slug, params={"max_attempts": 1})
    (claimed,) = proto.claim(job["id"], 10)
    task = Task.from_wire(TaskOut.model_validate(claimed), job["id"], pipeline.slug)
    decoded = Image.open(io.BytesIO(photo.getvalue())).convert("RGB")
    (result,) = pipeline.process([SourceImage(task.image_id, decoded)])
    assert [a["status"] for a in proto.post(job["id"], _result_item(task, result))] == ["saved"]
    return proto.image(int(task.image_id))


class _Shared(httpx.BaseTransport):
    """The test app's transport, left open when the client closes (the test's own client
    keeps using it)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)

    def close(self) -> None:
        pass


def python_client(proto: Protocol) -> Client:
    """``trapline.client.Client`` on the test's app, as the project's account."""
    transport = _Shared(proto.client._on_loop)  # type: ignore[attr-defined]
    return Client("http://testserver", proto.account.token, transport=transport)
