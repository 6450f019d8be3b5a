"""What a Camtrap DP package says besides its media and observations: ``deployments.csv``
and ``datapackage.json`` with the package's coverage in space, time and taxa, its licences
and the people the project names."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta, timezone
from typing import IO, Any

from trapline import __version__
from trapline.domain.core.records import Contact, Deployment, Project
from trapline.domain.ecology.choices import STATED
from trapline.domain.photos.local_times import offset_minutes
from trapline.domain.taxa.taxa import Rank
from trapline.exports.base import CsvFile, iso
from trapline.exports.eml import LICENCES
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
#: The deployment columns of numbers, written as they are (``cells.py``).
DEPLOYMENT_NUMBERS = (
    "latitude", "longitude", "coordinateUncertainty", "cameraDelay", "cameraHeight",
    "cameraDepth", "cameraTilt", "cameraHeading", "detectionDistance",
)  # fmt: skip
#: Camtrap DP's contributor roles, by the role a project's contact has (it has no creator).
CONTRIBUTOR_ROLES = {
    "contact": "contact", "principalInvestigator": "principalInvestigator",
    "rightsHolder": "rightsHolder", "publisher": "publisher", "creator": "contributor",
}  # fmt: skip
#: A licence ``name`` the Data Package standard takes (an Open Definition or SPDX id).
_LICENCE_ID = re.compile(r"[-a-zA-Z0-9._]+")
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


def write_deployments(
    target: IO[bytes],
    used: list[Deployment],
    spans: Spans,
    unclear: Collection[int] = (),
    zone: str = "UTC",
) -> None:
    """``deployments.csv``: the deployments with media in the package, each spanning its
    media at least; ``timestampIssues`` true for those in ``unclear`` (a photo's local time
    that a clock change skips or repeats), else left empty (not known). A deployment's start
    and end are read in its time zone (else ``zone``, the project's)."""
    table = CsvFile(target, DEPLOYMENT_FIELDS, numbers=DEPLOYMENT_NUMBERS)
    for d in used:
        first, last = spans[d.id]
        start = _wall(d.started_at, d, zone) if d.started_at else first
        end = _wall(d.ended_at, d, zone) if d.ended_at else last
        table.add(
            [str(d.id), str(d.id), d.name, number(d.latitude), number(d.longitude), "",
             iso(min(start, first)), iso(max(end, last))]
            + [""] * 9
            + ["true" if d.id in unclear else ""]
            + [""] * 5
            + [d.description.replace("\n", " ")]
        )  # fmt: skip
    table.flush()


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
        "description": _described(project, context.counted),
        "contributors": contributors(context),
        **licences(context),
        "sources": [{"title": "trapline", "version": __version__}],
        "project": {
            "id": str(project.id),
            "title": project.name,
            "description": project.description,
            "samplingDesign": "opportunistic",
            "captureMethod": ["activityDetection", "timeLapse"],
            "individualAnimals": False,
            "observationLevel": ["event"] if by_event else ["media", "event"],
        },
        "spatial": _bbox_polygon(lats, lons),
        # The media's own dates (their local days): the first instant's day can come after
        # the last's where deployments sit in zones far apart.
        "temporal": {
            "start": min((s.date() for s in starts), default=when.date()).isoformat(),
            "end": max((e.date() for e in ends), default=when.date()).isoformat(),
        },
        "taxonomic": [taxa[k] for k in sorted(taxa)],
    }


def _described(project: Project, counted: Sequence[str]) -> str:
    """The package's description (Markdown): the project's, then what it counts."""
    text = project.description or f"Camera trap data of {project.name}"
    if not counted:
        return text
    return "\n\n".join([text, STATED, "\n".join(f"- {line}" for line in counted)])


def contributors(context: ExportContext) -> list[dict[str, str]]:
    """The project's contacts as the package's contributors (each role as Camtrap DP names
    it); without any, the project itself, noted as a problem."""
    project = context.project
    if not project.contacts:
        context.problem(
            "the project names no contacts: datapackage.json names the project as its "
            "contributor; add people to the project and export again"
        )
        return [{"title": project.name, "role": "contributor"}]
    return [_contributor(c) for c in project.contacts]


def _contributor(contact: Contact) -> dict[str, str]:
    entry = {"title": contact.name}
    if contact.email:
        entry["email"] = contact.email
    if contact.organisation:
        entry["organization"] = contact.organisation
    entry["role"] = CONTRIBUTOR_ROLES.get(contact.role, "contributor")
    return entry


def licences(context: ExportContext) -> dict[str, Any]:
    """``licenses``: the project's licence for the data and for the media (the photos are the
    project's too); none when the project names none, or names it neither by an id (such as
    ``CC-BY-4.0``) nor by a URL, each noted as a problem."""
    given = context.project.licence.strip()
    if not given:
        context.problem(
            "the project names no licence: datapackage.json has none (GBIF takes CC0-1.0, "
            "CC-BY-4.0 or CC-BY-NC-4.0); set one and export again"
        )
        return {}
    entry = _licence(given)
    if entry is None:
        context.problem(
            f"the project's licence ({given}) is neither an id such as CC-BY-4.0 nor a URL: "
            "datapackage.json names none; set one and export again"
        )
        return {}
    return {"licenses": [{**entry, "scope": "data"}, {**entry, "scope": "media"}]}


def _licence(given: str) -> dict[str, str] | None:
    if given.startswith(("http://", "https://")):
        return {"path": given}
    if not _LICENCE_ID.fullmatch(given):
        return None
    known = LICENCES.get(given.lower())
    return {"name": given, "path": known[0], "title": known[1]} if known else {"name": given}


def number(value: float | None) -> str:
    """A number with 6 decimals at most, without trailing zeros ("" for None); formatting
    rounds correctly, as ``round`` does."""
    if value is None:
        return ""
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def _wall(value: datetime, deployment: Deployment, zone: str) -> datetime:
    """A deployment's wall-clock time (its start or end) with the offset its zone has then:
    across a clock change its media's would be an hour off."""
    minutes = offset_minutes(
        value, deployment.time_zone or zone, standard_time=deployment.standard_time
    )
    return value.replace(tzinfo=timezone(timedelta(minutes=minutes)))


def _bbox_polygon(lats: list[float], lons: list[float]) -> dict[str, Any]:
    if not lats:
        return {"type": "Polygon", "coordinates": []}
    s, n, w, e = min(lats), max(lats), min(lons), max(lons)
    if s == n and w == e:
        return {"type": "Point", "coordinates": [w, s]}
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
