"""Every export writes capture times with their UTC offset: a naive EXIF time read in the
deployment's zone (Africa/Dar_es_Salaam: +03:00), an offset in the file kept."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.accounts import upload
from tests.support.exports import Seeded
from tests.support.protocol import detection, pipeline_config, success
from tests.support.protocol_client import HEIGHT, WIDTH, Protocol

API = "/api/v2"
NAIVE = datetime(2024, 6, 21, 22, 0, 0)


@pytest.fixture
def dated(proto: Protocol) -> tuple[Seeded, dict[int, str]]:
    """A deployment in Dar es Salaam with two photos: one naive, one whose file says +01:00;
    one box on each. Returns the project and each image's expected capture time."""
    made = proto.client.post(
        f"{API}/projects/{proto.project_id}/deployments",
        json={
            "name": "Dar",
            "latitude": -6.8,
            "longitude": 39.28,
            "time_zone": "Africa/Dar_es_Salaam",
        },
        headers=proto.headers,
    )
    assert made.status_code == 201, made.text
    trap = made.json()["id"]
    expected = {}
    for seed, moment, text in (
        (1, NAIVE, "2024-06-21T22:00:00+03:00"),
        (2, NAIVE.replace(tzinfo=timezone(timedelta(hours=1))), "2024-06-21T22:00:00+01:00"),
    ):
        photo = proto.jpeg(seed, width=WIDTH, height=HEIGHT, captured_at=moment)
        body = upload(
            proto.client, proto.account, proto.project_id, (f"p{seed}.jpg", photo),
            deployment_id=str(trap),
        )  # fmt: skip
        expected[body["results"][0]["id"]] = text
    assert proto.register(pipeline_config()).status_code in (200, 201)
    job = proto.job_that_runs(params={"max_attempts": 1})
    items = [success(t, detection(t)) for t in proto.claim(job["id"], 10)]
    assert {a["status"] for a in proto.post(job["id"], *items)} == {"saved"}
    seeded = Seeded(proto, proto.project_id, {"Dar": trap}, {}, dict.fromkeys(expected, trap))
    return seeded, expected


def _file(seeded: Seeded, fmt: str) -> bytes:
    done = seeded.export(format=fmt)
    assert done["status"] == "succeeded", done
    return seeded.download(done["id"])


def test_api_and_every_export_carry_the_offsets(dated: tuple[Seeded, dict[int, str]]) -> None:
    seeded, expected = dated
    for image_id, text in expected.items():
        got = seeded.client.get(f"{API}/images/{image_id}", headers=seeded.proto.headers).json()
        assert got["captured_at"] == text
    rows = csv.DictReader(io.StringIO(_file(seeded, "csv").decode("utf-8-sig")))
    assert {int(r["image_id"]): r["captured_at"] for r in rows} == expected
    coco = json.loads(_file(seeded, "coco"))
    assert {int(i["id"]): i["date_captured"] for i in coco["images"]} == expected
    assert {int(i["id"]): i["datetime"] for i in coco["images"]} == expected
    md = json.loads(_file(seeded, "megadetector"))
    assert sorted(i["datetime"] for i in md["images"]) == sorted(expected.values())
    archive = zipfile.ZipFile(io.BytesIO(_file(seeded, "camtrap-dp")))
    media = csv.DictReader(io.StringIO(archive.read("media.csv").decode()))
    assert {int(m["mediaID"]): m["timestamp"] for m in media} == expected
    observations = list(csv.DictReader(io.StringIO(archive.read("observations.csv").decode())))
    assert {o["eventStart"] for o in observations} == set(expected.values())
