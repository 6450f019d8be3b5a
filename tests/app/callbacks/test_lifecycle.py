"""The contract's five calls end to end through the app, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.callbacks import Pipeline, box, create_analysis, png

CONTRACT_KEYS = {
    "id", "image_id", "model_name", "model_version", "status", "parameters", "provenance",
    "requested_by_id", "created_at", "annotations",
}  # fmt: skip


def test_whole_life_cycle_on_both_path_prefixes(
    client: AppClient, owner: Account, image_id: int, pipeline: Pipeline
) -> None:
    for n, prefix in enumerate(("/api", "/api/v2")):
        pipeline.prefix = prefix
        # The same body signed in the same second is one signature, good for one analysis:
        # each analysis's calls are signed with their own seconds.
        now = int(time.time()) - 20 * n
        created = create_analysis(client, owner, image_id, prefix=prefix)
        assert created.status_code == 201, created.text
        analysis = created.json()
        assert analysis.keys() >= CONTRACT_KEYS
        assert analysis["status"] == "queued"
        assert analysis["annotations"] == []
        assert analysis["requested_by_id"] == owner.id
        assert analysis["parameters"] == {"threshold": 0.5}
        aid = analysis["id"]

        moved = pipeline.call(
            "PATCH", f"/analyses/{aid}/status", {"status": "processing"}, timestamp=now
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == "processing"
        # Signed afresh: a new call, which finds the analysis there already.
        again = pipeline.call(
            "PATCH", f"/analyses/{aid}/status", {"status": "processing"}, timestamp=now - 7,
        )  # fmt: skip
        assert again.status_code == 200
        assert again.json()["status"] == "processing"

        presigned = pipeline.call(
            "POST", f"/analyses/{aid}/artifacts/presign",
            {"artifact_type": "heatmap", "filename": "heat.png"}, timestamp=now,
        )  # fmt: skip
        assert presigned.status_code == 200, presigned.text
        link = presigned.json()
        assert link["storage_path"].startswith("artifacts/")
        put = client.put(link["upload_url"], content=png(), headers={"Content-Type": "image/png"})
        assert put.status_code == 201, put.text

        items = [
            box(),
            {"annotation_type": "classification", "class_name": "Noctuidae", "confidence": 0.8,
             "data": {"topk": [{"class": "Noctuidae", "confidence": 0.8},
                               {"class": "Geometridae", "confidence": 0.1}]}},
            {"annotation_type": "heatmap", "storage_path": link["storage_path"],
             "data": {"width": 32, "height": 24, "color_map": "viridis"}},
        ]  # fmt: skip
        bulk = pipeline.call(
            "POST", f"/analyses/{aid}/annotations:bulk", {"annotations": items, "mode": "append"},
            timestamp=now,
        )  # fmt: skip
        assert bulk.status_code == 200, bulk.text
        assert bulk.json()["total"] == 3
        assert [a["annotation_type"] for a in bulk.json()["annotations"]] == [
            "bounding_box", "classification", "heatmap"
        ]  # fmt: skip
        repeat = pipeline.call(
            "POST", f"/analyses/{aid}/annotations:bulk", {"annotations": items, "mode": "append"},
            timestamp=now - 7,
        )  # fmt: skip
        assert repeat.status_code == 200
        assert repeat.json()["total"] == 3
        assert [a["id"] for a in repeat.json()["annotations"]] == [
            a["id"] for a in bulk.json()["annotations"]
        ]

        done = pipeline.call(
            "POST", f"/analyses/{aid}/finalize", {"status": "completed"}, timestamp=now
        )
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "completed"
        assert len(done.json()["annotations"]) == 3

        read = client.get(f"{prefix}/analyses/{aid}", headers=owner.headers)
        assert read.status_code == 200, read.text
        (artifact,) = read.json()["artifacts"]
        downloaded = client.get(artifact["download_url"])
        assert downloaded.status_code == 200
        assert downloaded.content == png()
        heat = [a for a in read.json()["annotations"] if a["annotation_type"] == "heatmap"]
        assert heat[0]["storage_path"] == link["storage_path"]
