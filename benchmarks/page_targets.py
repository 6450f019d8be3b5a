"""What the page benchmark (``pages.py``) opens on the data set: the objects its pages show,
the cursors of deep and last pages, and the image grid's filters, alone and combined with a
deployment or a night."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from dataset import OWNER, Dataset, counted_by
from listing import deep_cursor
from sqlalchemy import text

from trapline.domain.core.paging import Cursor, ImageOrder
from trapline.domain.core.records import ImageFilter
from trapline.domain.ecology.listings import EventOrder, OccurrenceFilter, OccurrenceOrder
from trapline.domain.ecology.species import Scope
from trapline.domain.processing.results import AnnotationFilter
from trapline.http.pagination import encode_position
from trapline.platform import Platform
from trapline.services.callbacks import analyses as annotations
from trapline.services.ecology import listings

API = "/api/v2"
#: How deep into the grid (a share of the project's photos) the deep page starts.
DEEP_SHARE = 0.9
#: Items a page of the web grid and of the API listings timed holds.
GRID_PAGE = 60
API_PAGE = 50
#: A position after every item of a listing: a backwards cursor there finds its last page.
_END = Cursor(datetime(9999, 12, 31), 2**63 - 1, backwards=True)


def targets(platform: Platform, dataset: Dataset) -> dict[str, Any]:
    """The objects the pages show (a photo with results, the longest occurrence, the commonest
    genus; the busiest night and the biggest deployment from the manifest), the cursors of
    deep and last pages, and the photos a filtered grid opens in the viewer."""
    p = dataset.project_id
    with platform.db.read() as repos:
        one = repos.session.execute
        image = one(text(
            "SELECT image_id FROM analyses WHERE project_id = :p GROUP BY image_id"
            " ORDER BY count(*) DESC, image_id DESC LIMIT 1"), {"p": p}).scalar_one()  # fmt: skip
        occurrence = one(text(
            "SELECT id FROM occurrences WHERE project_id = :p ORDER BY detection_count DESC, id"
            " LIMIT 1"), {"p": p}).scalar_one()  # fmt: skip
        genus = one(text(
            "SELECT t.parent_id FROM occurrences o JOIN taxa t ON t.id = o.taxon_id"
            " WHERE o.project_id = :p AND t.rank = 'species' GROUP BY t.parent_id"
            " ORDER BY count(*) DESC LIMIT 1"), {"p": p}).scalar_one()  # fmt: skip
        # The project's listing of occurrences, 90% deep into its counting pipeline's.
        counted = {"p": p, "pl": counted_by(repos, p)}
        deep_occurrence = one(text(
            "SELECT first_seen_at, id FROM occurrences WHERE project_id = :p AND pipeline = :pl"
            " ORDER BY first_seen_at, id LIMIT 1 OFFSET (SELECT count(*) * 9 / 10"
            " FROM occurrences WHERE project_id = :p AND pipeline = :pl)"),
            counted).one()  # fmt: skip
        photos = repos.photos.images.count(p, ImageFilter())
    seen = deep_occurrence[0]
    seen = datetime.fromisoformat(seen) if isinstance(seen, str) else seen
    position = int(dataset.images * DEEP_SHARE)
    night = dataset.busiest_night
    return {
        "p": p, "d": dataset.deployment_ids[0], "big": dataset.biggest_deployment_id,
        "e": night["event_id"], "night": night, "i": image, "o": occurrence, "t": genus,
        "deep": position,
        "cursor": deep_cursor(platform.db, p, ImageOrder.CAPTURED_DESC, position)[0],
        "api_cursor": deep_cursor(platform.db, p, ImageOrder.CAPTURED, position)[0],
        "o_cursor": encode_position(seen, int(deep_occurrence[1])),
        "last_grid": deep_cursor(platform.db, p, ImageOrder.CAPTURED_DESC, photos - GRID_PAGE)[0],
        "last_api": deep_cursor(platform.db, p, ImageOrder.CAPTURED, photos - API_PAGE)[0],
        "last_annotations": _last_annotations(platform, p),
        "last_occurrences": _last_occurrences(platform, p),
        "last_events": _last_events(platform, p),
        "viewed": _viewed(platform, dataset),
        "counted": counted["pl"],
    }  # fmt: skip


def _owner(platform: Platform) -> Any:
    with platform.db.read() as repos:
        return repos.core.users.by_email(OWNER)


def _last_occurrences(platform: Platform, project_id: int) -> str:
    """A cursor whose page is the last of the project's occurrences (the listing's own order
    and scope, as a person reaches it by following ``next``)."""
    page = listings.list_occurrences(
        platform.db, _owner(platform), Scope(project_id), OccurrenceFilter(),
        order=OccurrenceOrder.FIRST_SEEN, limit=API_PAGE + 1, cursor=_END,
    )  # fmt: skip
    first = page.occurrences[0]
    return encode_position(first.first_seen_at, first.id)


def _last_annotations(platform: Platform, project_id: int) -> str:
    """A cursor whose page is the last of the project's annotations (by id)."""
    _, found, _ = annotations.list_annotations(
        platform.db, _owner(platform), project_id, AnnotationFilter(), limit=API_PAGE + 1,
        offset=0, cursor=Cursor(None, _END.id, backwards=True),
    )  # fmt: skip
    return encode_position(None, found[0].id)


def _last_events(platform: Platform, project_id: int) -> str:
    """A cursor whose page is the last of the project's events."""
    page = listings.list_events(
        platform.db, _owner(platform), Scope(project_id), order=EventOrder.START,
        limit=API_PAGE + 1, cursor=_END,
    )  # fmt: skip
    first = page.events[0]
    return encode_position(first.starts_at, first.id)


def grid_filters(dataset: Dataset) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """(what, the web grid's parameters, the API listing's) of each filter of the grid."""
    common, rare = dataset.common_label, dataset.rare_label
    return [
        (f"label={common} (common)", {"label": common}, {"label": common}),
        (f"label={rare} (rare)", {"label": rare}, {"label": rare}),
        ("min_confidence=0.9", {"min_confidence": "0.9"}, {"min_confidence": "0.9"}),
        ("detections=with", {"detections": "with"}, {"has_detections": "true"}),
        ("detections=without", {"detections": "without"}, {"has_detections": "false"}),
    ]


def _night_bounds(ids: dict[str, Any]) -> tuple[str, str]:
    """The busiest night, noon to noon (the cameras' wall-clock times, as the grid reads them)."""
    evening = date.fromisoformat(ids["night"]["night"])
    return f"{evening}T12:00", f"{evening + timedelta(days=1)}T12:00"


def filtered(ids: dict[str, Any], dataset: Dataset) -> list[tuple[str, str]]:
    """(what, path) of the web grid and the API listing under each filter: alone, within the
    biggest deployment, and within the busiest night (its deployment, noon to noon)."""
    p, after, before = ids["p"], *_night_bounds(ids)
    night_deployment = ids["night"]["deployment_id"]
    rows = []
    for what, web, api in grid_filters(dataset):
        within = [
            ("", {}, {}),
            (" + biggest deployment", {"deployment": ids["big"]}, {"deployment": ids["big"]}),
            (
                " + busiest night",
                {"deployment": night_deployment, "after": after, "before": before},
                {"deployment": night_deployment, "captured_after": after,
                 "captured_before": before},
            ),
        ]  # fmt: skip
        for where, web_more, api_more in within:
            rows.append((f"page: grid, {what}{where}",
                         f"/projects/{p}/images?{urlencode(web | web_more)}"))  # fmt: skip
            query = urlencode({"limit": API_PAGE} | api | api_more)
            rows.append((f"API: images, {what}{where}", f"{API}/projects/{p}/images?{query}"))
    return rows


def _viewed(platform: Platform, dataset: Dataset) -> list[tuple[str, int, dict[str, str]]]:
    """Photos opened in the viewer from a filtered grid, each the middle one of the grid's
    first page (the viewer's previous and next stay within the filter): (what, photo, the
    grid's parameters)."""
    common, rare, big = dataset.common_label, dataset.rare_label, dataset.biggest_deployment_id
    grids = [
        (f"label={rare} (rare)", {"label": rare}, ImageFilter(label=rare)),
        ("detections=without", {"detections": "without"}, ImageFilter(has_detections=False)),
        ("min_confidence=0.9", {"min_confidence": "0.9"}, ImageFilter(min_confidence=0.9)),
        (
            f"label={common} (common) + biggest deployment",
            {"label": common, "deployment": str(big)},
            ImageFilter(label=common, deployment_id=big),
        ),
    ]
    viewed = []
    with platform.db.read() as repos:
        for what, query, flt in grids:
            found, _ = repos.photos.images.page(
                dataset.project_id, flt, order=ImageOrder.CAPTURED_DESC, limit=GRID_PAGE
            )
            if found:
                viewed.append((what, found[len(found) // 2].id, query))
    return viewed


def pages(ids: dict[str, Any]) -> list[tuple[str, str]]:
    """(what, path) of each web page."""
    p, deep = ids["p"], f"{ids['deep']:,}"
    night = ids["night"]
    return [
        ("project", f"/projects/{p}"),
        ("deployment", f"/deployments/{ids['d']}"),
        ("deployment (the biggest)", f"/deployments/{ids['big']}"),
        (f"event (the busiest night, {night['images']:,} photos)", f"/events/{ids['e']}"),
        ("images grid, first page", f"/projects/{p}/images"),
        (f"images grid, {deep} deep", f"/projects/{p}/images?cursor={ids['cursor']}"),
        ("images grid, last page", f"/projects/{p}/images?cursor={ids['last_grid']}"),
        ("viewer (3 analyses)", f"/images/{ids['i']}"),
        *[
            (f"viewer from a grid of {what}", f"/images/{image}?{urlencode(query)}")
            for what, image, query in ids["viewed"]
        ],
        ("species", f"/projects/{p}/species"),
        ("taxon (the commonest genus)", f"/projects/{p}/taxa/{ids['t']}"),
        ("labels", f"/projects/{p}/labels"),
        ("identify", f"/projects/{p}/identify"),
        ("identify, by label", f"/projects/{p}/identify?by=label"),
        ("review queue", f"/projects/{p}/review"),
        ("occurrence (the longest)", f"/occurrences/{ids['o']}"),
        ("jobs", f"/projects/{p}/jobs"),
        # What the job form's script asks when it is shown: a count over the whole project.
        (
            "jobs: the photos a version analysed (whole project)",
            f"/projects/{p}/jobs/analysed?pipeline={ids['counted']}",
        ),
    ]


def api_listings(ids: dict[str, Any]) -> list[tuple[str, str]]:
    """(what, path) of each API listing."""
    p, deep, n = ids["p"], f"{ids['deep']:,}", API_PAGE
    return [
        ("images, first page", f"{API}/projects/{p}/images?limit={n}"),
        (f"images, {deep} deep", f"{API}/projects/{p}/images?limit={n}&cursor={ids['api_cursor']}"),
        ("images, last page", f"{API}/projects/{p}/images?limit={n}&cursor={ids['last_api']}"),
        ("deployments", f"{API}/projects/{p}/deployments"),
        ("a deployment's events", f"{API}/deployments/{ids['d']}/events"),
        ("the busiest night's occurrences", f"{API}/events/{ids['e']}/occurrences"),
        ("annotations, first page", f"{API}/projects/{p}/annotations?limit={n}"),
        (
            "annotations, last page",
            f"{API}/projects/{p}/annotations?limit={n}&cursor={ids['last_annotations']}",
        ),
        ("species", f"{API}/projects/{p}/species"),
        ("labels", f"{API}/projects/{p}/labels"),
        ("identification queue", f"{API}/projects/{p}/identification-queue"),
        ("taxa, first page", f"{API}/projects/{p}/taxa?limit={n}"),
        ("jobs", f"{API}/jobs?project_id={p}"),
        ("an occurrence", f"{API}/occurrences/{ids['o']}"),
        ("occurrences, first page", f"{API}/projects/{p}/occurrences?limit={n}"),
        ("occurrences, 90% deep", f"{API}/projects/{p}/occurrences?cursor={ids['o_cursor']}"),
        (
            "occurrences, last page",
            f"{API}/projects/{p}/occurrences?limit={n}&cursor={ids['last_occurrences']}",
        ),
        ("occurrences of a genus", f"{API}/projects/{p}/occurrences?taxon={ids['t']}"),
        ("occurrences a person determined", f"{API}/projects/{p}/occurrences?determined_by=person"),
        (
            "occurrences of a deployment, sure ones",
            f"{API}/projects/{p}/occurrences?deployment={ids['d']}&min_score=0.9",
        ),
        (
            "occurrences, needing identification",
            f"{API}/projects/{p}/occurrences?needs_identification=true",
        ),
        ("occurrences of the busiest night", f"{API}/projects/{p}/occurrences?event={ids['e']}"),
        ("events, first page", f"{API}/projects/{p}/events?limit={n}"),
        ("events, last page", f"{API}/projects/{p}/events?limit={n}&cursor={ids['last_events']}"),
        ("counts: species x night", f"{API}/projects/{p}/counts?by=night&rank=species"),
        (
            "counts: species x night x deployment",
            f"{API}/projects/{p}/counts?by=night,deployment&rank=species",
        ),
        (
            "counts: species x night x deployment, CSV",
            f"{API}/projects/{p}/counts?by=night,deployment&rank=species&format=csv",
        ),
        ("counts: species x hour", f"{API}/projects/{p}/counts?by=hour&rank=species"),
    ]
