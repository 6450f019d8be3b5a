"""Camtrap DP's event-level observations (what GBIF publishes) have ids a publisher can rely
on: unique across installations, each always of the same taxon or label, and the same after
an identification elsewhere in the event or a correction of the camera's time zone."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from tests.support.exports import Seeded
from tests.support.protocol_client import Protocol, api_post
from tests.support.scenes import (
    API,
    TAXA_CSV,
    find_taxon,
    heron,
    import_taxa,
    occurrences_of,
    track_all,
)
from tests.support.standards import validate_camtrap_dp


def _observations(seeded: Seeded, folder: Path) -> dict[str, tuple[str, str, str]]:
    """The package's event-level observations: id -> (eventID, scientificName, tags)."""
    done = seeded.export(format="camtrap-dp", observation_level="event")
    assert done["status"] == "succeeded", done
    archive = zipfile.ZipFile(io.BytesIO(seeded.download(done["id"])))
    archive.extractall(folder)
    assert validate_camtrap_dp(folder) == []
    rows = list(csv.DictReader(io.StringIO(archive.read("observations.csv").decode())))
    found = {
        r["observationID"]: (r["eventID"], r["scientificName"], r["observationTags"]) for r in rows
    }
    assert len(found) == len(rows)  # unique within the package
    return found


def test_event_observation_ids_are_global_and_always_of_one_taxon(
    proto: Protocol, tmp_path: Path
) -> None:
    pond, event = heron(proto)
    seeded = Seeded(proto, proto.project_id, {"Pond": pond}, {}, {})
    with proto.platform.db.read() as repos:
        installation = repos.core.projects.installation()
    first = _observations(seeded, tmp_path / "first")
    # The walker, by label; the bird, an animal without a name, is left out (GBIF would take
    # it as an occurrence of nothing).
    assert sorted(v[2] for v in first.values()) == ["label:person"]
    assert all(i.startswith(f"urn:trapline:{installation}:event:{event}:") for i in first), first

    # A person names the bird: it is observed as the heron, under an id of its own, and the
    # walker's keeps its id and its meaning.
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    bird = next(o["id"] for o in occurrences_of(proto, event) if o["detection_count"] == 10)
    api_post(
        proto,
        f"/occurrences/{bird}/identifications",
        {"taxon_id": find_taxon(proto, "Ardea cinerea")},
        201,
    )
    track_all(proto)
    named = _observations(seeded, tmp_path / "named")
    assert sorted(v[1] for v in named.values()) == ["", "Ardea cinerea"]
    for kept in first.keys() & named.keys():
        assert first[kept] == named[kept], kept
    assert len(first.keys() & named.keys()) == 1

    # The camera's zone corrected: the same event, the same observations.
    patched = proto.client.patch(
        f"{API}/deployments/{pond}", json={"time_zone": "Europe/Paris"}, headers=proto.headers
    )
    assert patched.status_code == 200, patched.text
    assert proto.platform.rereads.wait_idle(30)
    proto.platform.regroupings.resume()  # what the "events" duty does every few seconds
    assert proto.platform.regroupings.wait_idle(30)
    track_all(proto)
    assert _observations(seeded, tmp_path / "zoned") == named
