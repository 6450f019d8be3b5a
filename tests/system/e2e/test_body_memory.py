"""Bodies at their caps raise a real server's peak RSS by at most 100 MB; past them, 413.

Each body is made of what costs the most memory once parsed: as many distinct short strings as
the route's value budget allows, and long strings filling its bytes (``costly_json``). A post
of results is read one part at a time, so its body at the byte cap is made of parts each at
the part caps, each typed into Python (a result's free-form ``errors``). The server's peak
comes from its kernel high-water mark, reset before each body.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.databases import PostgresDatabases
from tests.support.peak_memory import (
    MAX_RISE_MB,
    costly_json,
    floats,
    in_parts,
    peak_rise,
    small_objects,
)
from tests.support.protocol import wait_for_status
from tests.support.workers import Platform, live_platform, project_with_images, start_job
from trapline.exports.megadetector_import import MAX_IMPORT_BYTES, MAX_IMPORT_VALUES
from trapline.http.limits import (
    JSON_BODY_BYTES,
    JSON_BUDGET,
    REGISTRATION_BODY_BYTES,
    REGISTRATION_BUDGET,
    RESULTS_BODY_BYTES,
    RESULTS_BUDGET,
)
from trapline.protocol.base import MAX_PART_BYTES, MAX_PART_VALUES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def platform(
    tmp_path_factory: pytest.TempPathFactory, postgres_databases: PostgresDatabases
) -> Iterator[Platform]:
    with live_platform("sqlite", tmp_path_factory.mktemp("body-memory"), postgres_databases) as p:
        yield p


@pytest.fixture(scope="module")
def urls(platform: Platform) -> dict[str, str]:
    with platform.client() as api:
        project_id, _ = project_with_images(api, 1, name="Body memory")
        job_id = start_job(api, project_id, "body-memory")
        wait_for_status(api.get, job_id, {"running"}, {})
        claimed = api.post(f"/api/v2/jobs/{job_id}/tasks/", json={"batch_size": 1})
        assert claimed.status_code == 200, claimed.text
        (task,) = claimed.json()["tasks"]
    return {
        "results": f"/api/v2/jobs/{job_id}/result/",
        "lease": task["reply_subject"],
        "registration": f"/api/v2/projects/{project_id}/pipelines/",
        "plain": "/api/v2/projects/",
        "import": f"/api/v2/projects/{project_id}/imports/megadetector",
    }


def post(platform: Platform, url: str, body: bytes, *, as_file: bool = False) -> tuple[int, float]:
    """Post ``body``; (status, how many MB the server's peak RSS rose)."""
    with platform.client() as api, peak_rise(platform.server.process.pid) as rise:
        api.timeout = httpx.Timeout(60)
        if as_file:
            files = [("file", ("md.json", io.BytesIO(body), "application/json"))]
            answer = api.post(url, files=files)
        else:
            headers = {"content-type": "application/json"}
            answer = api.post(url, content=body, headers=headers)
    return answer.status_code, rise[0]


def results_body(junk: bytes) -> bytes:
    item = b'{"reply_subject":"x","result":{"pipeline":"body-memory","junk":%s}}' % junk
    return b'{"results":[%s]}' % item


def registration_body(junk: bytes) -> bytes:
    return b'{"processing_service_name":"s","pipelines":[],"junk":%s}' % junk


def plain_body(junk: bytes) -> bytes:
    return b'{"name":"Memory","junk":%s}' % junk


def md_file(junk: bytes) -> bytes:
    return b'{"detection_categories":{"1":"animal"},"images":[],"junk":%s}' % junk


KINDS = {
    # kind: (body maker, byte cap, value budget, status of a body within its caps)
    "results": (results_body, RESULTS_BODY_BYTES, RESULTS_BUDGET.values, 200),
    "registration": (registration_body, REGISTRATION_BODY_BYTES, REGISTRATION_BUDGET.values, 201),
    # Parsed whole, then refused for its unknown field.
    "plain": (plain_body, JSON_BODY_BYTES, JSON_BUDGET.values, 400),
    "import": (md_file, MAX_IMPORT_BYTES, MAX_IMPORT_VALUES, 200),
}


# A post of results at its caps is made of parts (below): one part at the byte cap is refused.
@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind != "results"])
def test_a_body_at_its_caps_raises_the_servers_memory_by_at_most_100_mb(
    platform: Platform, urls: dict[str, str], kind: str
) -> None:
    make, cap, values, ok = KINDS[kind]
    body = make(costly_json(cap - 1_000, values - 100))
    assert len(body) <= cap
    status, rise = post(platform, urls[kind], body, as_file=kind == "import")
    assert status == ok
    assert rise <= MAX_RISE_MB, f"{kind}: peak RSS rose {rise:.0f} MB"


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_body_over_its_value_budget_is_refused_with_413(
    platform: Platform, urls: dict[str, str], kind: str
) -> None:
    make, _, values, _ = KINDS[kind]
    with platform.client() as api:
        api.timeout = httpx.Timeout(60)
        body = make(floats(values + 10))
        if kind == "import":
            files = [("file", ("md.json", io.BytesIO(body), "application/json"))]
            answer = api.post(urls[kind], files=files)
        else:
            answer = api.post(
                urls[kind], content=body, headers={"content-type": "application/json"}
            )
    assert answer.status_code == 413, answer.text
    assert f"more than {values} JSON values" in answer.json()["detail"]


def test_a_results_post_over_its_byte_cap_is_refused_with_413(
    platform: Platform, urls: dict[str, str], tmp_path: Path
) -> None:
    body = results_body(b'"' + b"x" * RESULTS_BODY_BYTES + b'"')
    with platform.client() as api:
        answer = api.post(
            urls["results"], content=body, headers={"content-type": "application/json"}
        )
    assert answer.status_code == 413
    assert f"limit of {RESULTS_BODY_BYTES} bytes" in answer.json()["detail"]


def results_in_parts(lease: str, part: bytes) -> bytes:
    """A results post at its byte cap of items that each hold ``part`` where it is typed into
    Python (a result's free-form ``errors``); all name the fixture's one lease, so each is read
    and judged (the first saved, the others duplicates)."""
    item = b'{"reply_subject":"%s","result":{"pipeline":"body-memory","detections":[],' % (
        lease.encode()
    )
    item += b'"errors":[%s]}}' % part
    budget = RESULTS_BUDGET
    return in_parts(
        RESULTS_BODY_BYTES,
        budget.values,
        budget.containers,
        item,
        lambda items: b'{"results":[%s]}' % b",".join(items),
    )


#: Parts at the part caps, by what costs the most once parsed.
PARTS = {
    "mixed": costly_json(MAX_PART_BYTES - 2_000, MAX_PART_VALUES - 200),
    "objects": small_objects((MAX_PART_VALUES - 200) // 2),
}


@pytest.mark.parametrize("shape", list(PARTS))
def test_a_results_post_at_its_caps_of_parts_at_theirs_stays_within_100_mb(
    platform: Platform, urls: dict[str, str], shape: str
) -> None:
    body = results_in_parts(urls["lease"], PARTS[shape])
    status, rise = post(platform, urls["results"], body)
    assert status == 200
    assert rise <= MAX_RISE_MB, f"{shape}: peak RSS rose {rise:.0f} MB"


def test_a_part_over_its_caps_is_refused_with_413_naming_it(
    platform: Platform, urls: dict[str, str]
) -> None:
    fine = b'{"reply_subject":"x","result":{"pipeline":"body-memory","detections":[]}}'
    detection = b'{"source_image_id":"1","junk":%s}' % floats(MAX_PART_VALUES + 10)
    heavy = b'{"reply_subject":"x","result":{"pipeline":"body-memory","detections":[{},%s]}}' % (
        detection
    )
    body = b'{"results":[%s,%s]}' % (fine, heavy)
    with platform.client() as api:
        answer = api.post(
            urls["results"], content=body, headers={"content-type": "application/json"}
        )
    assert answer.status_code == 413, answer.text
    detail = answer.json()["detail"]
    assert f"results[1].result.detections[1] holds more than {MAX_PART_VALUES} JSON values" in (
        detail
    )
    assert "leave out logits" in detail
