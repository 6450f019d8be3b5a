"""The documented moth pipeline's three stages on one light-trap photo, as a worker posts
them: a box the moth filter passed and the species stage named, and one the filter called
``nonmoth`` 0.8 while its detector was surer of it (0.95) than of the moth."""

from __future__ import annotations

from typing import Any

from tests.support.protocol import detection, pipeline_config, success
from tests.support.protocol_client import Protocol
from tests.support.scenes import API

KINDS = ["moth", "nonmoth"]


def _verdict(box: dict[str, Any], label: str, scores: list[float]) -> dict[str, Any]:
    """The moth filter's classification of a box (not terminal: a species stage follows)."""
    species = box["classifications"][0]
    return {
        **species, "classification": label, "labels": KINDS, "scores": scores,
        "logits": [1.0, -1.0], "terminal": False,
        "algorithm": {"name": "Moth or not", "key": "moth-or-not"},
    }  # fmt: skip


def _detector_says_insect(box: dict[str, Any], score: float) -> dict[str, Any]:
    """The detector's own verdict on its box (its category and score)."""
    species = box["classifications"][0]
    return {
        **species, "classification": "insect", "labels": ["insect"], "scores": [score],
        "logits": [2.0], "terminal": False,
        "algorithm": {"name": "Blob detector", "key": box["algorithm"]["key"]},
    }  # fmt: skip


def filtered_photo(proto: Protocol) -> int:
    """The photo with the moth (left, a beetle by the species stage) and the rejected box
    (right), stored as a job's results; its id."""
    config = pipeline_config()
    config["algorithms"].append({
        "name": "Moth or not", "key": "moth-or-not", "task_type": "classification", "version": 1,
        "category_map": {"labels": KINDS, "data": [{"label": k, "index": i} for i, k in
                                                   enumerate(KINDS)]},
    })  # fmt: skip
    config["algorithms"][0]["category_map"] = {"labels": ["insect"]}
    trap = proto.client.post(
        f"{API}/projects/{proto.project_id}/deployments",
        json={"name": "Trap"},
        headers=proto.headers,
    )
    assert trap.status_code == 201, trap.text  # photos of 160x120: boxes within them
    proto.images(1, names=["20240621-220000.jpg"], deployment_id=str(trap.json()["id"]))
    assert proto.register(config).status_code in (200, 201)
    job = proto.job_that_runs(params={"max_attempts": 1})
    (task,) = proto.claim(job["id"], 10)
    # Left: a moth the filter passed and the species stage named. Right: what the filter
    # rejected, so no species stage ran on it; its detector was surer of it than of the moth.
    moth = detection(task, bbox=(10, 12, 60, 70), label="beetle", scores=[0.2, 0.7, 0.1])
    moth["classifications"] = [
        _detector_says_insect(moth, 0.6),
        _verdict(moth, "moth", [0.9, 0.1]),
        moth["classifications"][0],
    ]
    leaf = detection(task, bbox=(100, 40, 150, 100))
    leaf["classifications"] = [
        _detector_says_insect(leaf, 0.95),
        _verdict(leaf, "nonmoth", [0.2, 0.8]),
    ]
    posted = proto.post(job["id"], success(task, moth, leaf))
    assert [a["status"] for a in posted] == ["saved"], posted
    return int(task["image_id"])
