"""Camtrap DP with the project's taxa: observations name their occurrence's taxon, the
package's taxonomic coverage lists those taxa (taxonID, rank, higher ranks, vernacular
names by ISO 639-3 code), a person's identification is a human classification, and the
event level counts occurrences per taxon; every package valid against the 1.0.2 schemas
offline."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from tests.support.birds import Birds, placed_birds
from tests.support.protocol_client import Protocol
from tests.support.scenes import API
from tests.support.standards import validate_camtrap_dp
from trapline.domain.taxa.taxa import Rank
from trapline.exports.camtrap_package import taxon_entry
from trapline.exports.taxonomy import TaxonTerms, vernacular_names


def _package(
    scene: Birds, root: Path, **options: Any
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    done = scene.seeded.export(format="camtrap-dp", **options)
    assert done["status"] == "succeeded", done
    archive = zipfile.ZipFile(io.BytesIO(scene.seeded.download(done["id"])))
    archive.extractall(root)
    assert validate_camtrap_dp(root) == []
    observations = list(csv.DictReader(io.StringIO(archive.read("observations.csv").decode())))
    return json.loads(archive.read("datapackage.json")), observations


def test_observations_name_their_occurrences_taxon(proto: Protocol, tmp_path: Path) -> None:
    scene = placed_birds(proto)
    descriptor, observations = _package(scene, tmp_path)
    assert descriptor["taxonomic"] == [
        {
            "scientificName": "Ardea alba", "taxonID": "https://www.gbif.org/species/2480816",
            "taxonRank": "species", "kingdom": "Animalia", "phylum": "Chordata",
            "class": "Aves", "order": "Pelecaniformes", "family": "Ardeidae", "genus": "Ardea",
            "vernacularNames": {"eng": "Great Egret"},
        },
        {
            "scientificName": "Ardea cinerea", "taxonID": "https://www.gbif.org/species/2480830",
            "taxonRank": "species", "kingdom": "Animalia", "phylum": "Chordata",
            "class": "Aves", "order": "Pelecaniformes", "family": "Ardeidae", "genus": "Ardea",
            "vernacularNames": {"eng": "Grey Heron", "fra": "Héron cendré"},
        },
    ]  # fmt: skip
    by_deployment: dict[str, list[dict[str, str]]] = {}
    for o in observations:
        if o["observationLevel"] == "media":  # the event level is tested below
            by_deployment.setdefault(o["deploymentID"], []).append(o)
    pond = by_deployment[str(scene.pond)]
    birds_seen = [o for o in pond if o["observationType"] == "animal"]
    assert len(birds_seen) == 10
    assert {(o["scientificName"], o["classificationMethod"], o["observationTags"])
            for o in birds_seen} == {("Ardea cinerea", "machine", "")}  # fmt: skip
    (walker,) = [o for o in pond if o["observationType"] == "human"]
    assert (walker["scientificName"], walker["observationTags"]) == ("", "label:person")
    marsh = by_deployment[str(scene.marsh)]
    assert len(marsh) == 3
    assert {(o["scientificName"], o["classificationMethod"], o["classifiedBy"],
             o["classificationProbability"]) for o in marsh} == {
        ("Ardea alba", "human", "Olive", "")
    }  # fmt: skip
    (when,) = {o["classificationTimestamp"] for o in marsh}
    history = proto.client.get(
        f"{API}/occurrences/{scene.egret['id']}/identifications", headers=proto.headers
    ).json()
    assert when.removesuffix("Z") == history[0]["created_at"].removesuffix("Z")[:19]


def test_the_event_level_counts_occurrences_per_taxon(proto: Protocol, tmp_path: Path) -> None:
    scene = placed_birds(proto)
    descriptor, observations = _package(scene, tmp_path, observation_level="event")
    got = sorted(
        (o["eventID"], o["observationType"], o["scientificName"], o["count"],
         o["classificationMethod"], o["classifiedBy"], o["observationTags"])
        for o in observations
    )  # fmt: skip
    assert got == sorted([
        (str(scene.pond_event), "animal", "Ardea cinerea", "1", "machine", "", ""),
        (str(scene.pond_event), "human", "", "1", "machine", "", "label:person"),
        (str(scene.marsh_event), "animal", "Ardea alba", "1", "human", "Olive", ""),
    ])  # fmt: skip
    assert [t["scientificName"] for t in descriptor["taxonomic"]] == ["Ardea alba", "Ardea cinerea"]


def test_vernacular_names_are_keyed_by_iso_639_3_codes() -> None:
    assert vernacular_names(
        {"en": "Grey Heron", "en-GB": "Heron", "fra": "Héron", "NL": "Blauwe reiger", "": "x",
         "klingon-ish": "y", "de": " "}
    ) == {"eng": "Grey Heron", "fra": "Héron", "nld": "Blauwe reiger"}  # fmt: skip


def test_a_rank_camtrap_dp_does_not_name_is_left_out() -> None:
    tribe = TaxonTerms("Ardeini", "", Rank.TRIBE, {Rank.FAMILY: "Ardeidae"}, {})
    assert taxon_entry(tribe) == {"scientificName": "Ardeini", "family": "Ardeidae"}
