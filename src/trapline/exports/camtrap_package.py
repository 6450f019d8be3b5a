"""What a Camtrap DP package says besides its media and observations: ``deployments.csv``
and ``datapackage.json`` with the package's coverage in space, time and taxa."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import IO, Any

from trapline import __version__
from trapline.domain.records import Deployment
from trapline.domain.taxa import Rank
from trapline.exports.base import iso
from trapline.exports.csv import cell
from trapline.exports.reader import ExportContext
from trapline.exports.taxonomy import HIGHER_RANKS, TaxonTerms

VERSION = "1.0.2"
BASE_URL = f"https://raw.githubusercontent.com/tdwg/camtrap-dp/{VERSION}/"
PROFILE_URL = BASE_URL + "camtrap-dp-profile.json"
SCHEMA_URLS = {
    name: f"{BASE_URL}{name}-table-schema.json" for name in ("deployments", "media", "observations")
}
DEPLOYMENT_FIELDS = (
    "deploymentID", "locationID", "locationName", "latitude", "longitude",
    "coordinateUncertainty", "deploymentStart", "deploymentEnd", "setupBy", "cameraID",
    "cameraModel", "cameraDelay", "cameraHeight", "cameraDepth", "cameraTilt", "cameraHeading",
    "detectionDistance", "timestampIssues", "baitUse", "featureType", "habitat",
    "deploymentGroups", "deploymentTags", "deploymentComments",
)  # fmt: skip
#: The ranks Camtrap DP's ``taxonRank`` takes (a taxon at another is written without one).
TAXON_RANKS = frozenset({*HIGHER_RANKS, Rank.SPECIES, Rank.SUBSPECIES})

#: First and last media time, by deployment.
Spans = dict[int, tuple[datetime, datetime]]


def taxon_entry(terms: TaxonTerms) -> dict[str, Any]:
    """A taxon of the project's list as an entry of the package's taxonomic coverage."""
    entry: dict[str, Any] = {"scientificName": terms.scientific_name}
    if terms.taxon_id:
        entry["taxonID"] = terms.taxon_id
    if terms.rank in TAXON_RANKS:
        entry["taxonRank"] = terms.rank.value
    for rank in HIGHER_RANKS:
        if rank in terms.higher:
            entry[rank.value] = terms.higher[rank]
    if terms.vernacular:
        entry["vernacularNames"] = dict(sorted(terms.vernacular.items()))
    return entry


def category_entry(name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """A taxon a category map's entry describes, as an entry of the taxonomic coverage."""
    taxon: dict[str, Any] = {"scientificName": name}
    key = entry.get("gbif_key") or entry.get("gbif_id")
    if entry.get("taxonID"):
        taxon["taxonID"] = str(entry["taxonID"])
    elif key:
        taxon["taxonID"] = f"https://www.gbif.org/species/{key}"
    rank = entry.get("taxon_rank") or entry.get("rank") or entry.get("taxonRank")
    if rank:
        taxon["taxonRank"] = str(rank).lower()
    for field in ("kingdom", "phylum", "class", "order", "family", "genus"):
        if entry.get(field):
            taxon[field] = str(entry[field])
    return taxon


def write_deployments(target: IO[bytes], used: list[Deployment], spans: Spans) -> None:
    """``deployments.csv``: the deployments with media in the package, each spanning its
    media at least."""
    text = io.TextIOWrapper(target, encoding="utf-8", newline="")
    table = csv.writer(text)
    table.writerow(DEPLOYMENT_FIELDS)
    for d in used:
        first, last = spans[d.id]
        start = _wall(d.started_at, first) if d.started_at else first
        end = _wall(d.ended_at, last) if d.ended_at else last
        table.writerow(
            [str(d.id), str(d.id), cell(d.name), number(d.latitude), number(d.longitude), "",
             iso(min(start, first)), iso(max(end, last))]
            + [""] * 15
            + [cell(d.description.replace("\n", " "))]
        )  # fmt: skip
    text.flush()
    text.detach()


def descriptor(
    context: ExportContext,
    used: list[Deployment],
    spans: Spans,
    taxa: dict[str, dict[str, Any]],
    *,
    by_event: bool,
) -> dict[str, Any]:
    """``datapackage.json``."""
    project = context.project
    resources = [
        {
            "name": name,
            "path": f"{name}.csv",
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "schema": SCHEMA_URLS[name],
        }
        for name in ("deployments", "media", "observations")
    ]
    lats = [d.latitude for d in used if d.latitude is not None]
    lons = [d.longitude for d in used if d.longitude is not None]
    starts = [s for s, _ in spans.values()]
    ends = [e for _, e in spans.values()]
    when = context.created_at
    return {
        "resources": resources,
        "profile": PROFILE_URL,
        "name": f"trapline-project-{project.id}",
        "created": iso(when),
        "title": project.name,
        "description": project.description or f"Camera trap data of {project.name}",
        "contributors": [{"title": project.name, "role": "contributor"}],
        "sources": [{"title": "trapline", "version": __version__}],
        "project": {
            "id": str(project.id),
            "title": project.name,
            "description": project.description,
            "samplingDesign": "opportunistic",
            "captureMethod": ["activityDetection", "timeLapse"],
            "individualAnimals": False,
            "observationLevel": ["event" if by_event else "media"],
        },
        "spatial": _bbox_polygon(lats, lons),
        "temporal": {
            "start": (min(starts) if starts else when).date().isoformat(),
            "end": (max(ends) if ends else when).date().isoformat(),
        },
        "taxonomic": [taxa[k] for k in sorted(taxa)],
    }


def number(value: float | None) -> str:
    """A number with 6 decimals at most, without trailing zeros ("" for None); formatting
    rounds correctly, as ``round`` does."""
    if value is None:
        return ""
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def _wall(value: datetime, like: datetime) -> datetime:
    """A deployment's wall-clock time in the zone of its media."""
    return value.replace(tzinfo=like.tzinfo)


def _bbox_polygon(lats: list[float], lons: list[float]) -> dict[str, Any]:
    if not lats:
        return {"type": "Polygon", "coordinates": []}
    s, n, w, e = min(lats), max(lats), min(lons), max(lons)
    if s == n and w == e:
        return {"type": "Point", "coordinates": [w, s]}
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
