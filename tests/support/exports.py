"""A project seeded with the test pipeline's results, as the export tests read them back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.protocol import LABELS, detection, failure, pipeline_config, success
from tests.support.protocol_client import Protocol
from trapline.background.exports import ExportRunner

API = "/api/v2"


@dataclass(frozen=True)
class Box:
    """A detection the seeded project holds: pixels x1 y1 x2 y2, label and its score."""

    image_id: int
    box: tuple[float, float, float, float]
    label: str
    score: float


@dataclass
class Seeded:
    """A project with two deployments, results of one job, and what they are."""

    proto: Protocol
    project_id: int
    deployments: dict[str, int]
    images: dict[int, str]  # id -> file name
    image_deployment: dict[int, int]
    boxes: list[Box] = field(default_factory=list)
    empty: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    job_id: int = 0

    @property
    def client(self) -> AppClient:
        return self.proto.client

    def export(self, account: Account | None = None, **body: Any) -> dict[str, Any]:
        """Create an export and wait until it ends; returns its record."""
        made = self.create(account, **body)
        assert made.status_code == 202, made.text
        return self.wait(made.json()["id"], account)

    def create(self, account: Account | None = None, **body: Any) -> Any:
        headers = (account or self.proto.account).headers
        return self.client.post(
            f"{API}/projects/{self.project_id}/exports", json=body, headers=headers
        )

    def wait(
        self,
        export_id: int,
        account: Account | None = None,
        timeout: float = 60,
        runner: ExportRunner | None = None,
    ) -> Any:
        """The export once ``runner`` (the app's own by default) has nothing going."""
        headers = (account or self.proto.account).headers
        runner = runner or self.proto.platform.exports
        assert runner.wait_idle(timeout), f"export {export_id} went on past {timeout}s"
        got = self.client.get(f"{API}/exports/{export_id}", headers=headers).json()
        assert got["status"] not in ("queued", "running"), got
        return got

    def file(self, fmt: str, **options: Any) -> bytes:
        """The bytes of an export in ``fmt`` (with ``options``), which must succeed."""
        done = self.export(format=fmt, **options)
        assert done["status"] == "succeeded", done
        return self.download(done["id"])

    def download(self, export_id: int, account: Account | None = None) -> bytes:
        """Follow the download redirect to the signed blob URL; the file's bytes."""
        headers = (account or self.proto.account).headers
        answer = self.client.get(
            f"{API}/exports/{export_id}/download", headers=headers, follow_redirects=False
        )
        assert answer.status_code == 307, answer.text
        blob = self.client.get(answer.headers["location"])  # no token: the link is signed
        assert blob.status_code == 200, blob.text
        return blob.content


def detect_all(proto: Protocol) -> None:
    """The test pipeline finds one moth in every photo of the project (one job)."""
    assert proto.register(pipeline_config()).status_code in (200, 201)
    job = proto.job_that_runs(params={"max_attempts": 1})
    items = [success(t, detection(t)) for t in proto.claim(job["id"], 100)]
    assert {a["status"] for a in proto.post(job["id"], *items)} == {"saved"}


def seed_project(
    proto: Protocol, *, names: list[str] | None = None, config: dict[str, Any] | None = None
) -> Seeded:
    """Two deployments with coordinates; nine images; a job whose results give images 0-5
    one or two boxes each, images 6-7 nothing and image 8 a failure."""
    client, headers, pid = proto.client, proto.headers, proto.project_id
    deployments = {}
    for name, lat, lon in (("Trap A", 45.5, -73.57), ("Trap B", 46.1, -72.9)):
        made = client.post(
            f"{API}/projects/{pid}/deployments",
            json={"name": name, "latitude": lat, "longitude": lon},
            headers=headers,
        )
        assert made.status_code == 201, made.text
        deployments[name] = made.json()["id"]
    names = names or [f"20240621-22{n:02d}00.jpg" for n in range(9)]
    ids: list[int] = []
    placed: dict[int, int] = {}
    for trap, part in (("Trap A", names[:5]), ("Trap B", names[5:])):
        if not part:
            continue
        deployment = deployments[trap]
        made = proto.images(len(part), names=part, deployment_id=str(deployment))
        ids += made
        placed |= dict.fromkeys(made, deployment)
    registered = proto.register(config or pipeline_config())
    assert registered.status_code in (200, 201), registered.text
    job = proto.job_that_runs(params={"max_attempts": 1})
    tasks = proto.claim(job["id"], 100)
    by_image = {int(t["image_id"]): t for t in tasks}
    seeded = Seeded(proto, pid, deployments, dict(zip(ids, names, strict=True)), placed)
    seeded.job_id = job["id"]
    items = []
    for n, image_id in enumerate(ids):
        task = by_image[image_id]
        if n < 6:
            dets = []
            for k in range(1 + n % 2):
                box = (10.0 + 5 * k + n, 12.0 + k, 60.0 + 7 * k + n, 70.0 + 3 * k)
                label = LABELS[(n + k) % 3]
                top = 0.9 - 0.1 * k - 0.01 * n
                rest = (1 - top) / 2
                scores = [rest, rest, rest]
                scores[LABELS.index(label)] = top
                dets.append(detection(task, bbox=box, label=label, scores=scores))
                seeded.boxes.append(Box(image_id, box, label, round(top, 6)))
            items.append(success(task, *dets))
        elif n < 8:
            items.append(success(task))
            seeded.empty.append(image_id)
        else:
            items.append(failure(task, "could not read the file"))
            seeded.failed.append(image_id)
    answers = proto.post(job["id"], *items)
    assert [a["status"] for a in answers] == ["saved"] * 8 + ["failed"], answers
    return seeded
