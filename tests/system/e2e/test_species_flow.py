"""From light-trap photos to GBIF: a real ``trapline serve`` and ``trapline worker --pipeline
moth-blobs``, the night's occurrences tracked in the background, a taxa list imported from
CSV, the pipeline's labels mapped, three occurrences identified to species by a person and
one agreed with the model; the species view counts them, the Darwin Core Archive reads back
with python-dwca-reader with each occurrence's basisOfRecord, and the Camtrap DP package
validates offline and carries the taxa.

On the developers' shared light-trap photos where ``../shared/data`` is beside the checkout,
otherwise on generated ones."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from dwca.read import DwCAReader

from tests.support.processes import clean_env, trapline_command
from tests.support.standards import validate_camtrap_dp
from tests.support.waiting import wait_until
from tests.support.workers import live_platform
from trapline.imaging.synthetic import light_trap_jpeg

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
SHARED = next(
    (c for c in (ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data")
     if c.is_dir()),
    None,
)  # fmt: skip
#: Seconds the worker, the tracking and an export may take on a loaded machine.
WAIT = 240.0
TAXA = """scientific_name,rank,parent,gbif_key,vernacular_name:en
Animalia,kingdom,,1,
Arthropoda,phylum,Animalia,54,
Insecta,class,Arthropoda,216,Insects
Lepidoptera,order,Insecta,797,Butterflies and moths
Noctuidae,family,Lepidoptera,7015,
Noctua,genus,Noctuidae,1766528,
Noctua pronuba,species,Noctua,1766543,Large Yellow Underwing
Erebidae,family,Lepidoptera,4532185,
Catocala,genus,Erebidae,1815547,
Catocala nupta,species,Catocala,1815639,Red Underwing
Geometridae,family,Lepidoptera,6950,
Idaea,genus,Geometridae,1950993,
Idaea aversata,species,Idaea,1951013,Riband Wave
"""
SPECIES = ("Noctua pronuba", "Catocala nupta", "Idaea aversata")


def _photos() -> list[tuple[str, bytes]]:
    """The shared light-trap photos (not the close-up), else four generated nights' photos."""
    if SHARED is not None:
        folder = SHARED / "moth-trap-images"
        return [(p.name, p.read_bytes()) for p in sorted(folder.glob("*.jpg"))]
    start = datetime(2024, 6, 21, 23, 0)
    return [
        (
            f"trap-{n}.jpg",
            light_trap_jpeg(40 + n, width=1600, height=1200, captured_at=start + timedelta(days=n)),
        )
        for n in range(4)
    ]


def _ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else None


def _download(client: httpx.Client, project: int, body: dict[str, Any]) -> bytes:
    made = _ok(client.post(f"/api/v2/projects/{project}/exports", json=body), 202)
    path = f"/api/v2/exports/{made['id']}"
    ended = wait_until(
        lambda: (got := client.get(path).json())["status"] not in ("queued", "running") and got,
        timeout=WAIT,
        what=f"the {body['format']} export's end",
    )
    assert ended["status"] == "succeeded", ended
    link = client.get(f"{path}/download", follow_redirects=False)
    return httpx.get(link.headers["location"], timeout=60).content


def _tracked(client: httpx.Client, deployment: int) -> list[dict[str, Any]] | None:
    """The deployment's events once every one has its occurrences tracked (None before)."""
    events = client.get(f"/api/v2/deployments/{deployment}/events").json()["results"]
    if not events or any(e["occurrences_pending"] for e in events):
        return None
    return list(events)


def _occurrences(client: httpx.Client, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for event in events:
        page = client.get(f"/api/v2/events/{event['id']}/occurrences", params={"limit": 1000})
        found += _ok(page)["results"]
    return found


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_light_trap_occurrences_are_identified_counted_and_published(
    tmp_path: Path, postgres_databases: Any, backend: str
) -> None:
    with (
        live_platform(backend, tmp_path, postgres_databases) as platform,
        platform.client() as client,
    ):
        project = _ok(client.post("/api/v2/projects/", json={"name": "Moths"}), 201)["id"]
        _ok(client.put(f"/api/v2/projects/{project}/event-rule", json={"rule": "night"}))
        deployment = _ok(
            client.post(
                f"/api/v2/projects/{project}/deployments",
                json={"name": "Sheet", "time_zone": "UTC", "latitude": 45.5, "longitude": -73.6},
            ),
            201,
        )["id"]
        files = [("files", (name, io.BytesIO(data), "image/jpeg")) for name, data in _photos()]
        _ok(
            client.post(
                f"/api/v2/projects/{project}/images/",
                files=files,
                data={"deployment_id": str(deployment)},
            ),
            201,
        )
        env = clean_env(TRAPLINE_API_URL=platform.url, TRAPLINE_TOKEN=platform.token)
        for args in (
            ["worker", "register", "--project", str(project), "--pipeline", "moth-blobs"],
            ["worker", "--pipeline", "moth-blobs", "--burst"],
        ):
            if args[1] == "--pipeline":
                job = {"project_id": project, "pipeline": "moth-blobs"}
                _ok(client.post("/api/v2/jobs/", json=job), 201)
            done = subprocess.run(
                trapline_command(*args), env=env, cwd=tmp_path, capture_output=True, text=True,
                timeout=WAIT,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
        events = wait_until(
            lambda: _tracked(client, deployment), timeout=WAIT, what="the events' tracking"
        )
        moths = [o for o in _occurrences(client, events) if o["determination"]["label"] == "moth"]
        assert len(moths) >= 4, "too few moths found to identify"

        imported = _ok(
            client.post(
                f"/api/v2/projects/{project}/taxa",
                files={"file": ("taxa.csv", io.BytesIO(TAXA.encode()), "text/csv")},
            )
        )
        assert imported["added"] == 13
        taxa = {
            t["scientific_name"]: t["id"]
            for t in _ok(client.get(f"/api/v2/projects/{project}/taxa", params={"limit": 100}))[
                "results"
            ]
        }
        listed = _ok(client.get(f"/api/v2/projects/{project}/labels", params={"limit": 1000}))
        labels = {m["label"] for m in listed["results"]}
        assert "moth" in labels
        mapping = {"moth": taxa["Lepidoptera"], "other insect": taxa["Insecta"]}
        for label in labels:
            _ok(
                client.post(
                    f"/api/v2/projects/{project}/labels",
                    json={"label": label, "taxon_id": mapping.get(label, taxa["Insecta"])},
                )
            )
        for occurrence, name in zip(moths, SPECIES, strict=False):
            made = client.post(
                f"/api/v2/occurrences/{occurrence['id']}/identifications",
                json={"taxon_id": taxa[name], "comment": "by its wing pattern"},
            )
            _ok(made, 201)
        agreed = client.post(
            f"/api/v2/occurrences/{moths[3]['id']}/identifications", json={"agree_with": "model"}
        )
        assert _ok(agreed, 201)["taxon"]["scientific_name"] == "Lepidoptera"

        total = len(_occurrences(client, events))
        rows = _ok(client.get(f"/api/v2/projects/{project}/species"))["results"]
        counted = {r["taxon"]["scientific_name"]: r["occurrences"] for r in rows if r["taxon"]}
        assert {name: counted.get(name) for name in SPECIES} == dict.fromkeys(SPECIES, 1)
        assert counted["Lepidoptera"] == len(moths) - 3
        assert sum(r["occurrences"] for r in rows) == total
        family = _ok(client.get(f"/api/v2/projects/{project}/species", params={"rank": "family"}))[
            "results"
        ]
        assert {r["taxon"]["scientific_name"] for r in family if r["taxon"]} >= {
            "Noctuidae", "Erebidae", "Geometridae",
        }  # fmt: skip

        archive = _download(client, project, {"format": "dwca"})
        packed = _download(client, project, {"format": "camtrap-dp", "observation_level": "event"})
    (tmp_path / "dwca.zip").write_bytes(archive)
    with DwCAReader(str(tmp_path / "dwca.zip")) as dwca:
        core = list(dwca)
    assert len(core) == total
    term = "http://rs.tdwg.org/dwc/terms/"
    by_name: dict[str, list[str]] = {}
    for row in core:
        by_name.setdefault(row.data[f"{term}scientificName"], []).append(
            row.data[f"{term}basisOfRecord"]
        )
    for name in SPECIES:
        assert by_name[name] == ["HumanObservation"]
    assert sorted(by_name["Lepidoptera"]) == ["HumanObservation"] + ["MachineObservation"] * (
        len(moths) - 4
    )
    folder = tmp_path / "camtrap"
    with zipfile.ZipFile(io.BytesIO(packed)) as package:
        package.extractall(folder)
    assert validate_camtrap_dp(folder) == []
    descriptor = json.loads((folder / "datapackage.json").read_text())
    named = {t["scientificName"] for t in descriptor["taxonomic"]}
    assert named >= {*SPECIES, "Lepidoptera"}
