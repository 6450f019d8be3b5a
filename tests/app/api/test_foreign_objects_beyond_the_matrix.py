"""Objects of a project the caller cannot see answer exactly as missing ones beyond the
permission matrices (API routes, web pages and forms, ids of another project in bodies and
filters), and an S3 source's URL cannot carry its keys (they would be shown with it)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.support.permissions import Site, World, build_world, with_occurrence
from tests.support.web import CHEAP_HASH, Browser, signed_in

MISSING = 10**9 + 7
SCRUB = re.compile(r"\d+")


@pytest.fixture(scope="module")
def worlds() -> dict[int, tuple[World, dict[str, Any]]]:
    """Each site's foreign world, made once per module (by site)."""
    return {}


@pytest.fixture
def foreign(site: Site, worlds: dict[int, tuple[World, dict[str, Any]]]) -> dict[str, Any]:
    """A project of the site's owner, with an occurrence, an export and an analysis of its
    image, that the non-member cannot see; and the ids of its objects."""
    key = id(site)  # the module's sites live as long as it
    if key not in worlds:
        world = with_occurrence(build_world(site))
        owner = world.accounts["owner"]
        ids: dict[str, Any] = dict(world.ids())
        export = site.request(
            "POST", f"/projects/{world.project}/exports", owner, json={"format": "csv"}
        )
        assert export.status_code == 202, export.text
        ids["export"] = export.json()["id"]
        analysis = site.request(
            "POST", f"/images/{world.image}/analyses", owner, json={"model_name": "m"}
        )
        assert analysis.status_code == 201, analysis.text
        ids["analysis"] = analysis.json()["id"]
        ids["slug"] = world.pipeline
        worlds[key] = (world, ids)
    world, ids = worlds[key]
    return {"world": world, "ids": ids}


def _unlike(what: str, a: httpx.Response, b: httpx.Response, a_text: str, b_text: str) -> list[str]:
    """``what`` as a difference, when a foreign object's answer ``a`` is not a missing one's
    ``b`` (their texts as compared)."""
    if a.status_code == b.status_code and a_text == b_text:
        return []
    return [f"{what}: {a.status_code} {a_text[:300]!r} against {b.status_code} {b_text[:300]!r}"]


def _scrubbed(answer: httpx.Response) -> str:
    """An answer's text with its numbers (ids) masked."""
    return SCRUB.sub("N", answer.text)


def _stranger_browser(site: Site) -> Browser:
    platform = site.client.app.state.platform  # type: ignore[attr-defined]
    account = site.accounts["non-member"]
    with platform.db.write() as repos:
        repos.core.users.set_password_hash(account.id, CHEAP_HASH)
    return signed_in(platform, account)


API_CASES = [
    ("GET", "/projects/{project}/capture-time-rereads", None),
    ("GET", "/projects/{project}/pinned-pipelines", None),
    ("PUT", "/projects/{project}/pinned-pipelines/{slug}", {"json": {"version": 1}}),
    ("DELETE", "/projects/{project}/pinned-pipelines/{slug}", None),
    ("GET", "/processing-services?project={project}", None),
    ("GET", "/projects/{project}/processing-services", None),
    ("PATCH", "/projects/{project}/pipelines/{slug}", {"json": {"enabled": False}}),
    ("GET", "/projects/{project}/pipelines", None),
    ("POST", "/projects/{project}/images/move", {"json": {"image_ids": [1], "deployment_id": 1}}),
    ("GET", "/exports/{export}", None),
    ("GET", "/exports/{export}/download", None),
    ("POST", "/exports/{export}/cancel", None),
    ("GET", "/projects/{project}/exports", None),
    ("GET", "/projects/{project}/sources", None),
    ("GET", "/projects/{project}/evaluation-sets", None),
    ("GET", "/projects/{project}/classifiers", None),
    ("GET", "/projects/{project}/detection-scorers", None),
    ("GET", "/projects/{project}/groupings", None),
    ("GET", "/projects/{project}/annotations", None),
    ("GET", "/images/{image}/reviews", None),
    ("GET", "/jobs?project={project}", None),
    ("GET", "/analyses/{analysis}", None),
    ("POST", "/projects/{project}/service-tokens", {"json": {"name": "x"}}),
    ("POST", "/projects/{project}/evaluation-sets", {"json": {"name": "x"}}),
]


def _fill(path: str, ids: dict[str, Any], value: int | None) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "slug":
            return str(ids["slug"])
        return str(value if value is not None else ids.get(name, 0))

    return re.sub(r"\{(\w+)\}", sub, path)


def test_foreign_objects_of_unmatrixed_api_routes_answer_as_missing(
    site: Site, foreign: dict[str, Any]
) -> None:
    ids = foreign["ids"]
    stranger = site.accounts["non-member"]
    problems: list[str] = []
    for method, path, extra in API_CASES:
        real = _fill(path, ids, None)
        absent = _fill(path, ids, MISSING)
        a = site.request(method, real, stranger, **(extra or {}))
        b = site.request(method, absent, stranger, **(extra or {}))
        problems += _unlike(f"{method} {real}", a, b, _scrubbed(a), _scrubbed(b))
    assert not problems, "\n".join(problems)


WEB_GETS = [
    "/projects/{project}",
    "/events/{event}",
    "/occurrences/{occurrence}",
    "/deployments/{deployment}",
    "/deployments/{deployment}/compare",
    "/projects/{project}/counts",
    "/projects/{project}/counts/taxa-by-night.csv",
    "/projects/{project}/counts/rows.csv",
    "/projects/{project}/taxa/{taxon}",
    "/annotations/{detection}/layer",
    "/annotations/{detection}/crop",
    "/analyses/{analysis}",
    "/analyses/{analysis}/artifacts/1",
    "/exports/{export}",
    "/exports/{export}/progress",
    "/images/{image}",
    "/images/{image}/thumb",
    "/images/{image}/file",
    "/images/{image}/exif",
    "/projects/{project}/species",
    "/projects/{project}/identify",
    "/projects/{project}/evaluation",
    "/projects/{project}/classifiers",
    "/projects/{project}/detection-scorers",
    "/projects/{project}/groupings",
    "/projects/{project}/imports/megadetector",
    "/projects/{project}/exports",
    "/projects/{project}/sources",
    "/projects/{project}/labels",
    "/projects/{project}/taxa",
    "/projects/{project}/taxa/export",
    "/projects/{project}/taxa/suggest?q=an",
    "/projects/{project}/jobs/analysed",
    "/projects/{project}/review/next",
    "/projects/{project}/review",
    "/projects/{project}/deployments",
    "/projects/{project}/members",
    "/projects/{project}/processing",
    "/projects/{project}/jobs",
    "/projects/{project}/images",
]

WEB_POSTS = [
    ("/deployments/{deployment}", {"name": "x"}),
    ("/events/{event}/identify", {"taxon_id": "1"}),
    ("/events/{event}/merge", {"occurrence_ids": "1"}),
    ("/occurrences/{occurrence}/split", {"detection_ids": "1"}),
    ("/deployments/{deployment}/event-rule", {"rule": "night"}),
    ("/occurrences/{occurrence}/identify", {"taxon_id": "1"}),
    ("/identifications/{identification}/withdraw", {}),
    ("/images/{image}/review", {"verdict": "confirm", "annotation": "1"}),
    ("/images/{image}/missing", {"x1": "1", "y1": "1", "x2": "2", "y2": "2", "label": "a"}),
    ("/exports/{export}/cancel", {}),
    ("/projects/{project}/time-zone", {"time_zone": "UTC"}),
    ("/projects/{project}/counting", {"pipeline": "x"}),
    ("/projects/{project}/deployments/{deployment}/counting", {"pipeline": "x"}),
    ("/projects/{project}/event-rule", {"rule": "night"}),
    ("/projects/{project}/publishing", {}),
    ("/projects/{project}/images/move", {"image_ids": "1", "deployment_id": "1"}),
    ("/projects/{project}/identify", {"taxon_id": "1"}),
    ("/projects/{project}/identifications/withdraw", {"identification_ids": "1"}),
    ("/projects/{project}/labels", {"label": "x", "taxon_id": "1"}),
    ("/projects/{project}/taxa/share", {}),
    ("/projects/{project}/members", {"email": "x@example.org", "role": "viewer"}),
    ("/projects/{project}/members/1/remove", {}),
    ("/projects/{project}/jobs", {"pipeline": "x"}),
    ("/projects/{project}/deployments", {"name": "x"}),
    ("/projects/{project}/sources", {"name": "x"}),
    ("/projects/{project}/evaluation", {"name": "x"}),
    ("/projects/{project}/classifiers", {"name": "x"}),
    ("/projects/{project}/detection-scorers", {"name": "x"}),
    ("/projects/{project}/groupings", {"features_from": "x"}),
]


def test_foreign_objects_of_web_pages_answer_as_missing(
    site: Site, foreign: dict[str, Any]
) -> None:
    ids = foreign["ids"]
    browser = _stranger_browser(site)
    problems: list[str] = []
    try:
        for path in WEB_GETS:
            real, absent = _fill(path, ids, None), _fill(path, ids, MISSING)
            a = browser.client.get(real, follow_redirects=False)
            b = browser.client.get(absent, follow_redirects=False)
            problems += _unlike(f"GET {real}", a, b, _scrubbed(a), _scrubbed(b))
        token = browser.csrf()
        for path, data in WEB_POSTS:
            real, absent = _fill(path, ids, None), _fill(path, ids, MISSING)
            a = browser.client.post(real, data={"csrf": token, **data}, follow_redirects=False)
            b = browser.client.post(absent, data={"csrf": token, **data}, follow_redirects=False)
            problems += _unlike(f"POST {real}", a, b, _scrubbed(a), _scrubbed(b))
    finally:
        browser.client.__exit__(None, None, None)
    assert not problems, "\n".join(problems)


def _own_project(site: Site) -> int:
    listed = site.request("GET", "/projects", site.accounts["non-member"]).json()["results"]
    return next(p["id"] for p in listed if p["name"] == "Stranger's own")


CROSS = [
    (
        "POST",
        "/projects/{own}/collections",
        lambda v: {"json": {"name": "c", "image_ids": [v["image"]]}},
    ),
    (
        "POST",
        "/projects/{own}/images/move",
        lambda v: {"json": {"image_ids": [v["image"]], "deployment_id": None}},
    ),
    (
        "POST",
        "/projects/{own}/images/move",
        lambda v: {"json": {"image_ids": [v["own"]], "deployment_id": v["deployment"]}},
    ),
    (
        "POST",
        "/projects/{own}/exports",
        lambda v: {"json": {"format": "csv", "deployment_id": v["deployment"]}},
    ),
    (
        "POST",
        "/projects/{own}/exports",
        lambda v: {"json": {"format": "csv", "collection_id": v["collection"]}},
    ),
    (
        "POST",
        "/projects/{own}/identifications",
        lambda v: {"json": {"occurrence_ids": [v["occurrence"]], "rejected": "nothing_there"}},
    ),
    (
        "POST",
        "/projects/{own}/labels",
        lambda v: {"json": {"label": "animal", "taxon_id": v["taxon"]}},
    ),
    ("PUT", "/projects/{own}/taxa-list", lambda v: {"json": {"taxa_list_id": v["taxa_list"]}}),
    ("GET", "/projects/{own}/images", lambda v: {"params": {"deployment": v["deployment"]}}),
    ("GET", "/projects/{own}/occurrences", lambda v: {"params": {"deployment": v["deployment"]}}),
    ("GET", "/projects/{own}/events", lambda v: {"params": {"deployment": v["deployment"]}}),
    ("GET", "/projects/{own}/counts", lambda v: {"params": {"deployment": v["deployment"]}}),
    ("GET", "/projects/{own}/record-table", lambda v: {"params": {"deployment": v["deployment"]}}),
    (
        "GET",
        "/projects/{own}/camera-operation",
        lambda v: {"params": {"deployment": v["deployment"]}},
    ),
    ("GET", "/projects/{own}/species", lambda v: {"params": {"deployment_id": v["deployment"]}}),
    (
        "GET",
        "/projects/{own}/identification-queue",
        lambda v: {"params": {"deployment_id": v["deployment"]}},
    ),
    ("GET", "/projects/{own}/annotations", lambda v: {"params": {"deployment": v["deployment"]}}),
    ("GET", "/projects/{own}/taxa/{taxon}", lambda v: {}),
    ("GET", "/projects/{own}/detection-history", lambda v: {"params": {"taxon": v["taxon"]}}),
    (
        "POST",
        "/projects/{own}/evaluation-sets",
        lambda v: {"json": {"name": "e", "deployment_id": v["deployment"]}},
    ),
    (
        "POST",
        "/projects/{own}/groupings",
        lambda v: {"json": {"features_from": "x", "deployment_id": v["deployment"]}},
    ),
    (
        "POST",
        "/jobs",
        lambda v: {
            "json": {"project_id": v["own"], "pipeline": "x", "collection_id": v["collection"]}
        },
    ),
    (
        "POST",
        "/projects/{own}/sources",
        lambda v: {
            "json": {
                "name": "s",
                "kind": "http_directory",
                "url": "http://127.0.0.1:9/",
                "deployment_id": v["deployment"],
            }
        },
    ),
]


def test_ids_of_another_project_in_bodies_and_filters_answer_as_missing(
    site: Site, foreign: dict[str, Any]
) -> None:
    ids = dict(foreign["ids"], own=_own_project(site), taxa_list=foreign["world"].taxa_list)
    missing = {
        k: (MISSING + n if isinstance(v, int) and k != "own" else v)
        for n, (k, v) in enumerate(ids.items())
    }
    missing["own"] = ids["own"]
    stranger = site.accounts["non-member"]
    problems: list[str] = []
    for method, path, body in CROSS:
        a = site.request(method, path.format(**ids), stranger, **body(ids))
        b = site.request(method, path.format(**missing), stranger, **body(missing))
        ta, tb = a.text, b.text
        for k in ids:
            if isinstance(ids[k], int) and k != "own":
                tb = tb.replace(str(missing[k]), str(ids[k]))
        problems += _unlike(f"{method} {path}", a, b, ta, tb)
    assert not problems, "\n".join(problems)


def test_an_s3_sources_url_with_keys_in_it_is_refused(site: Site, foreign: dict[str, Any]) -> None:
    """As http_directory and ftp sources refuse a user name or password in their URL, an s3
    source refuses ``s3://KEY:SECRET@bucket/``, which it took and showed to every viewer; the
    answer does not repeat the secret, and nothing is kept."""
    world = foreign["world"]
    owner = world.accounts["owner"]
    before = site.request("GET", f"/projects/{world.project}/sources", owner)
    made = site.request("POST", f"/projects/{world.project}/sources", owner, json={
        "name": f"s3 {world.project}", "kind": "s3",
        "url": "s3://AKIAPROBEKEY:TopSecretProbeValue@bucket/prefix/",
        "endpoint_url": "http://127.0.0.1:9",
        "credentials": {"access_key_id": "a", "secret_access_key": "b"},
    })  # fmt: skip
    assert made.status_code == 400, made.text
    assert "not in the URL" in made.text
    assert "TopSecretProbeValue" not in made.text
    after = site.request("GET", f"/projects/{world.project}/sources", owner)
    assert after.json()["results"] == before.json()["results"]
