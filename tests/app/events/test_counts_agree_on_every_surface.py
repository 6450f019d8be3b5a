"""Every surface that reports a count for one scope gives the same number (docs/counting.md:
"Every count trapline shows or exports ... counts the same thing by the same rules"): the API's
species view, count tables, listings and taxon profile; the web project, species, deployment
and taxon pages; the record table; and the occurrence-level exports (Darwin Core Archive,
Antenna's occurrence CSV, event-level Camtrap DP). Scenes that stress it: deployments counting
by different pipelines, a pinned older version, re-runs after identifications, regroupings, a
stage's no-object verdict, a second pipeline on the same photos, a taxon only a person named."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.support.exports import Seeded
from tests.support.protocol import (
    LABELS,
    PIPELINE_SLUG,
    detection,
    failure,
    pipeline_config,
    success,
)
from tests.support.protocol_client import API, Protocol, api_get, api_post
from tests.support.scenes import DAR, add_frames, import_taxa, track_all
from tests.support.tallies import assert_counts_kept
from tests.support.web import CHEAP_HASH, Browser, signed_in, table

Box = tuple[float, float, float, float]

TAXA = """scientific_name,rank,parent,gbif_key,vernacular_name:en
Animalia,kingdom,,1,Animals
Arthropoda,phylum,Animalia,54,
Insecta,class,Arthropoda,216,Insects
Lepidoptera,order,Insecta,797,Moths
Coleoptera,order,Insecta,1470,Beetles
Diptera,order,Insecta,811,Flies
Hymenoptera,order,Insecta,1457,Wasps
"""
#: What each model label stands for.
MAPPED = {"moth": "Lepidoptera", "beetle": "Coleoptera", "fly": "Diptera"}


@pytest.fixture(autouse=True)
def _kept_counts_agree(proto: Protocol) -> Iterator[None]:
    yield
    assert_counts_kept(proto.platform.db)


# -- building scenes --------------------------------------------------------------------------


def _register(proto: Protocol, slug: str = PIPELINE_SLUG, version: int = 1, **extra: Any) -> None:
    answer = proto.register(pipeline_config(slug, version=version, **extra))
    assert answer.status_code in (200, 201), answer.text


def _run(
    proto: Protocol,
    slug: str,
    boxes: dict[int, list[tuple[Box, str]]],
    *,
    version: int | None = None,
    extra: dict[int, list[dict[str, Any]]] | None = None,
) -> int:
    """A job of ``slug`` (its newest version, or ``version``): these photos get these boxes,
    the others a failure; the job's id once done."""
    fields: dict[str, Any] = {}
    if version is not None:
        fields["pipeline_version"] = version
    job = proto.job_that_runs(
        pipeline=slug, params={"max_attempts": 1, "reprocess": True}, **fields
    )
    items = []
    for task in proto.claim(job["id"], 100):
        image = int(task["image_id"])
        if image not in boxes:
            items.append(failure(task, "not asked"))
            continue
        found = []
        for box, label in boxes[image]:
            scores = [0.05] * len(LABELS)
            scores[LABELS.index(label)] = 0.9
            found.append(detection(task, slug=slug, bbox=box, label=label, scores=scores))
        found += (extra or {}).get(image, [])
        items.append(success(task, *found, slug=slug))
    answers = proto.post(job["id"], *items)
    assert {a["status"] for a in answers} <= {"saved", "failed"}, answers
    return int(job["id"])


def _taxa(proto: Protocol) -> dict[str, int]:
    assert import_taxa(proto, TAXA).status_code == 200
    found = {}
    for name in ("Insecta", "Lepidoptera", "Coleoptera", "Diptera", "Hymenoptera"):
        (t,) = [t for t in api_get(proto, f"/projects/{proto.project_id}/taxa/search", q=name)
                if t["scientific_name"] == name]  # fmt: skip
        found[name] = int(t["id"])
    for label, name in MAPPED.items():
        body = {"label": label, "taxon_id": found[name]}
        api_post(proto, f"/projects/{proto.project_id}/labels", body, 200)
    return found


def _frames(proto: Protocol, name: str, count: int, seed: int = 7) -> tuple[int, list[int]]:
    """A deployment with coordinates (as Camtrap DP needs) and ``count`` frames 5 s apart."""
    made = proto.client.post(
        f"{API}/projects/{proto.project_id}/deployments",
        json={"name": name, "time_zone": DAR, "latitude": -6.8, "longitude": 39.28},
        headers=proto.headers,
    )
    assert made.status_code == 201, made.text
    deployment = int(made.json()["id"])
    ids = add_frames(proto, deployment, count, timedelta(seconds=5), size=(320, 240), seed=seed)
    return deployment, ids


@contextmanager
def _signed_in(proto: Protocol) -> Iterator[Browser]:
    """The project's owner in a browser session, ended afterwards."""
    with proto.platform.db.write() as repos:
        repos.core.users.set_password_hash(proto.account.id, CHEAP_HASH)
    browser = signed_in(proto.platform, proto.account)
    try:
        yield browser
    finally:
        browser.client.__exit__(None, None, None)


def _count_by(proto: Protocol, deployment: int, pipeline: str) -> None:
    """A person's choice of what a deployment counts by; its events tracked again."""
    answer = proto.client.put(
        f"{API}/deployments/{deployment}/counting",
        json={"pipeline": pipeline},
        headers=proto.headers,
    )
    assert answer.status_code == 200, answer.text
    track_all(proto)


# -- reading every surface --------------------------------------------------------------------


def _num(cell: str) -> int:
    found = re.findall(r"\d[\d,]*", cell)
    return int(found[-1].replace(",", "")) if found else 0


def _export(proto: Protocol, **body: Any) -> bytes:
    seeded = Seeded(proto, proto.project_id, {}, {}, {})
    done = seeded.export(**body)
    assert done["status"] == "succeeded", done
    return seeded.download(done["id"])


def _export_counts(
    proto: Protocol, deployment: int | None, pipeline: str | None = None
) -> dict[str, Counter[str]]:
    """Per export, occurrences by taxon name (Antenna's: name or label)."""
    scope: dict[str, Any] = {"deployment_id": deployment} if deployment else {}
    if pipeline:
        scope["pipeline"] = pipeline
    found: dict[str, Counter[str]] = {}
    text = _export(proto, format="occurrences-csv", **scope).decode("utf-8")
    found["occurrences_csv"] = Counter(
        r["determination_name"] for r in csv.DictReader(io.StringIO(text))
    )
    with zipfile.ZipFile(io.BytesIO(_export(proto, format="dwca", **scope))) as z:
        rows = list(csv.DictReader(io.StringIO(z.read("occurrence.txt").decode()), delimiter="\t"))
    found["dwca"] = Counter(r["scientificName"] for r in rows)
    with zipfile.ZipFile(
        io.BytesIO(_export(proto, format="camtrap-dp", observation_level="event", **scope))
    ) as z:
        rows = list(csv.DictReader(io.StringIO(z.read("observations.csv").decode("utf-8-sig"))))
    camtrap: Counter[str] = Counter()
    for r in rows:
        if r["observationLevel"] == "event":
            camtrap[r["scientificName"] or r["observationTags"]] += int(r["count"])
    found["camtrap_event"] = camtrap
    return found


def _record_table(proto: Protocol, deployment: int | None, pipeline: str | None = None) -> int:
    params: dict[str, Any] = {"remove_duplicate_records": "false"}
    if pipeline:
        params["pipeline"] = pipeline
    if deployment:
        params["deployment"] = deployment
    answer = proto.client.get(
        f"{API}/projects/{proto.project_id}/record-table", params=params, headers=proto.headers
    )
    assert answer.status_code == 200, answer.text
    return int(answer.json()["count"])


def _labels_total(page: str) -> int:
    """The sum of a page's labels table (occurrences per label)."""
    labels = re.search(r'<table class="labels">.*?</table>', page, re.S)
    if labels is None:
        return 0
    found = re.findall(r"</progress> ([\d,]+)</td>", labels.group(0))
    return sum(int(n.replace(",", "")) for n in found)


def _everywhere(
    proto: Protocol, browser: Browser, deployment: int | None = None, pipeline: str | None = None
) -> dict[str, Any]:
    """Every count of the scope (the project, or one deployment; with ``pipeline``, that
    pipeline's on every deployment): totals by surface, and occurrences by taxon name by
    surface."""
    pid = proto.project_id
    dep: dict[str, Any] = {"deployment": deployment} if deployment else {}
    depid: dict[str, Any] = {"deployment_id": deployment} if deployment else {}
    if pipeline:
        dep["pipeline"] = depid["pipeline"] = pipeline
    totals: dict[str, int] = {}
    by_taxon: dict[str, Counter[str]] = {}
    species = api_get(proto, f"/projects/{pid}/species", limit=1000, **depid)["results"]
    totals["api_species"] = sum(int(r["occurrences"]) for r in species)
    by_taxon["api_species"] = Counter(
        {r["taxon"]["scientific_name"]: int(r["occurrences"]) for r in species if r["taxon"]}
    )
    for by in ("night", "event", "deployment", "hour"):
        rows = api_get(proto, f"/projects/{pid}/counts", by=by, **dep)["rows"]
        totals[f"api_counts_{by}"] = sum(int(r["individuals"]) for r in rows)
    events = api_get(proto, f"/projects/{pid}/events", limit=1000, **dep)["results"]
    totals["api_events"] = sum(int(e["individuals"]) for e in events)
    totals["api_occurrences"] = int(
        api_get(proto, f"/projects/{pid}/occurrences", limit=1000, **dep)["count"]
    )
    totals["record_table"] = _record_table(proto, deployment, pipeline)
    # Taxon profiles, API and web, for every taxon the species view names.
    by_taxon["api_taxon"], by_taxon["web_taxon"] = Counter(), Counter()
    for r in species:
        if not r["taxon"]:
            continue
        tid, name = r["taxon"]["id"], r["taxon"]["scientific_name"]
        prof = api_get(proto, f"/projects/{pid}/taxa/{tid}", **depid)
        by_taxon["api_taxon"][name] = int(prof["occurrences"])
        page = browser.page(f"/projects/{pid}/taxa/{tid}?{urlencode(dep)}")
        m = re.search(r'data-field="occurrences">([\d,]+)<', page)
        by_taxon["web_taxon"][name] = int(m.group(1).replace(",", "")) if m else 0
    rows = table(browser.page(f"/projects/{pid}/species?{urlencode(dep)}"), "species")
    totals["web_species"] = sum(_num(row[-5]) for row in rows)
    if pipeline:
        pass  # the pages below count by each deployment's own pipeline
    elif deployment:
        page = browser.page(f"/deployments/{deployment}")
        totals["web_deployment_events"] = sum(_num(r[3]) for r in table(page, "events"))
        totals["web_deployment_labels"] = _labels_total(page)
        nights = re.search(r"<th scope=\"col\">Night of</th>.*?</table>", page, re.S)
        totals["web_deployment_nights"] = (
            sum(int(c) for c in re.findall(r'<td class="num">(\d+)</td></tr>', nights.group(0)))
            if nights
            else 0
        )
    else:
        page = browser.page(f"/projects/{pid}")
        totals["web_project_labels"] = _labels_total(page)
        totals["api_queue"] = int(api_get(proto, f"/projects/{pid}/identification-queue")["count"])
    exports = _export_counts(proto, deployment, pipeline)
    totals["occurrences_csv"] = sum(exports["occurrences_csv"].values())
    totals["camtrap_event"] = sum(exports["camtrap_event"].values())
    by_taxon.update(exports)
    del by_taxon["occurrences_csv"]
    return {"totals": totals, "by_taxon": by_taxon}


def _agree_here_and_in(
    proto: Protocol, browser: Browser, deployment: int, total: int, taxa: dict[str, int]
) -> None:
    """``_agree`` over the whole project and over one deployment holding all it counts."""
    _agree(_everywhere(proto, browser), total, taxa)
    _agree(_everywhere(proto, browser, deployment), total, taxa)


def _agree(found: dict[str, Any], total: int, taxa: dict[str, int]) -> None:
    """Every total is ``total`` (the identification queue at most), every taxon count
    ``taxa`` (the taxa the models and people named, Darwin Core's only the named ones)."""
    totals = dict(found["totals"])
    queue = totals.pop("api_queue", None)
    assert totals == dict.fromkeys(totals, total), totals
    if queue is not None:
        assert queue <= total, found
    named = {k: v for k, v in taxa.items() if v}
    for surface, counts in found["by_taxon"].items():
        assert dict(+counts) == named, (surface, dict(counts), found)


MOTH: Box = (10, 12, 60, 70)
FLY: Box = (200, 100, 260, 160)
OTHER_FLY: Box = (120, 150, 170, 200)


def _occurrences(proto: Protocol, **params: Any) -> list[dict[str, Any]]:
    return list(
        api_get(proto, f"/projects/{proto.project_id}/occurrences", limit=1000, **params)["results"]
    )


def _identify(proto: Protocol, occurrence: int, taxon: int) -> int:
    body = {"taxon_id": taxon}
    return int(api_post(proto, f"/occurrences/{occurrence}/identifications", body, 201)["id"])


def _history(proto: Protocol, occurrence: int) -> list[tuple[int, str | None]]:
    return [
        (i["id"], i["taxon"]["scientific_name"] if i["taxon"] else None)
        for i in api_get(proto, f"/occurrences/{occurrence}/identifications")
    ]


def test_deployments_counting_by_different_pipelines_agree_everywhere(proto: Protocol) -> None:
    """(a) North counts by moth-test (its first results), South by other-test, set by a person
    for South; both pipelines ran on both. Every surface counts North's moth and South's two
    flies: 3, never a pipeline added."""
    taxa = _taxa(proto)
    north, north_photos = _frames(proto, "North", 3, seed=7)
    south, south_photos = _frames(proto, "South", 3, seed=9)
    _register(proto)
    _register(proto, "other-test")
    both = [*north_photos, *south_photos]
    _run(proto, PIPELINE_SLUG, {p: [(MOTH, "moth")] for p in both})
    track_all(proto)
    _run(proto, "other-test", {p: [(FLY, "fly"), (OTHER_FLY, "fly")] for p in both})
    track_all(proto)
    _count_by(proto, south, "other-test")
    by = {d["deployment_id"]: d["pipeline"] for d in
          api_get(proto, f"/projects/{proto.project_id}/counting")["deployments"]}  # fmt: skip
    assert by == {north: PIPELINE_SLUG, south: "other-test"}
    with _signed_in(proto) as browser:
        _agree(_everywhere(proto, browser), 3, {"Lepidoptera": 1, "Diptera": 2})
        _agree(_everywhere(proto, browser, north), 1, {"Lepidoptera": 1})
        _agree(_everywhere(proto, browser, south), 2, {"Diptera": 2})
        # One pipeline picked: its occurrences on every deployment, on every surface.
        _agree(_everywhere(proto, browser, pipeline="other-test"), 4, {"Diptera": 4})
        _agree(_everywhere(proto, browser, pipeline=PIPELINE_SLUG), 2, {"Lepidoptera": 2})
        _agree(_everywhere(proto, browser, north, "other-test"), 2, {"Diptera": 2})
    del taxa


def _moth_in_three_frames(proto: Protocol) -> tuple[int, list[int]]:
    """The taxa, a pond of three frames and moth-test v1's moth in each, tracked."""
    _taxa(proto)
    pond, photos = _frames(proto, "Pond", 3)
    _register(proto)
    _run(proto, PIPELINE_SLUG, {p: [(MOTH, "moth")] for p in photos})
    track_all(proto)
    return pond, photos


def test_a_pinned_older_version_is_what_every_surface_counts(proto: Protocol) -> None:
    """(b) moth-test v1 on three frames (one moth); v2 on the first frame only (a moth and a
    beetle). The project pins v1: every surface counts the one moth of v1."""
    pond, photos = _moth_in_three_frames(proto)
    _register(proto, version=2)
    _run(proto, PIPELINE_SLUG, {photos[0]: [(MOTH, "moth"), (FLY, "beetle")]}, version=2)
    track_all(proto)
    pinned = proto.client.put(
        f"{API}/projects/{proto.project_id}/pinned-pipelines/{PIPELINE_SLUG}",
        json={"version": 1},
        headers=proto.headers,
    )
    assert pinned.status_code in (200, 204), pinned.text
    track_all(proto)
    with _signed_in(proto) as browser:
        _agree_here_and_in(proto, browser, pond, 1, {"Lepidoptera": 1})


def test_a_newer_version_on_some_photos_counts_alike_everywhere(proto: Protocol) -> None:
    """(b, unpinned) v2 on the first frame only, naming the moth a beetle there and adding a
    fly: the counts mix versions (the first frame's v2, the others' v1) and every surface
    counts the same mix."""
    pond, photos = _moth_in_three_frames(proto)
    _register(proto, version=2)
    _run(proto, PIPELINE_SLUG, {photos[2]: [(MOTH, "moth"), (FLY, "fly")]}, version=2)
    track_all(proto)
    with _signed_in(proto) as browser:
        _agree_here_and_in(proto, browser, pond, 2, {"Lepidoptera": 1, "Diptera": 1})


def test_a_rerun_after_an_identification_keeps_it_and_counts_agree(proto: Protocol) -> None:
    """(c) A person names the moth a beetle (Coleoptera); the counting pipeline runs again,
    the same boxes nudged: the identification moves to the successors, and every surface
    counts one Coleoptera."""
    taxa = _taxa(proto)
    pond, photos = _frames(proto, "Pond", 3)
    _register(proto)
    _run(proto, PIPELINE_SLUG, {p: [(MOTH, "moth")] for p in photos})
    track_all(proto)
    (occ,) = _occurrences(proto)
    made = _identify(proto, occ["id"], taxa["Coleoptera"])
    track_all(proto)
    _run(proto, PIPELINE_SLUG, {p: [((12, 12, 62, 70), "moth")] for p in photos})
    track_all(proto)
    (after,) = _occurrences(proto)
    assert after["id"] == occ["id"]
    assert _history(proto, occ["id"]) == [(made, "Coleoptera")]
    with _signed_in(proto) as browser:
        _agree_here_and_in(proto, browser, pond, 1, {"Coleoptera": 1})


def test_a_regrouping_after_identifications_counts_alike_and_keeps_them(
    proto: Protocol,
) -> None:
    """(d) Six frames: two bursts two minutes apart, one night. Sequences of 60 s give two
    events; the moth of each is named Hymenoptera (a taxon no model gave). The rule becomes
    the night: one event; tracking links the moth through both bursts (one individual),
    named Hymenoptera. Back to sequences: it parts into two, each named."""
    taxa = _taxa(proto)
    made = proto.client.post(
        f"{API}/projects/{proto.project_id}/deployments",
        json={"name": "Pond", "time_zone": DAR, "latitude": -6.8, "longitude": 39.28},
        headers=proto.headers,
    )
    pond = int(made.json()["id"])
    first = add_frames(proto, pond, 3, timedelta(seconds=5), size=(320, 240))
    from tests.support.accounts import upload
    from tests.support.scenes import T0
    from trapline.imaging.synthetic import light_trap_jpeg

    later = [
        (f"late-{i}.jpg", light_trap_jpeg(7, width=320, height=240,
                                          captured_at=T0 + timedelta(seconds=120 + 5 * i),
                                          quality=90 + i))
        for i in range(3)
    ]  # fmt: skip
    body = upload(proto.client, proto.account, proto.project_id, *later, deployment_id=str(pond))
    second = [r["id"] for r in body["results"]]
    _register(proto)
    _run(proto, PIPELINE_SLUG, {p: [(MOTH, "moth")] for p in [*first, *second]})
    track_all(proto)
    occs = _occurrences(proto)
    assert len(occs) == 2
    named = {o["id"]: _identify(proto, o["id"], taxa["Hymenoptera"]) for o in occs}
    track_all(proto)
    with _signed_in(proto) as browser:
        _agree(_everywhere(proto, browser), 2, {"Hymenoptera": 2})
        answer = proto.client.put(
            f"{API}/projects/{proto.project_id}/event-rule", json={"rule": "night"},
            headers=proto.headers,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        assert proto.platform.regroupings.wait_idle(30)
        track_all(proto)
        _agree(_everywhere(proto, browser), 1, {"Hymenoptera": 1})
        answer = proto.client.put(
            f"{API}/projects/{proto.project_id}/event-rule",
            json={"rule": "sequence", "gap_seconds": 60}, headers=proto.headers,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        assert proto.platform.regroupings.wait_idle(30)
        track_all(proto)
        _agree_here_and_in(proto, browser, pond, 2, {"Hymenoptera": 2})
    kept = {i for o in _occurrences(proto) for i, _ in _history(proto, o["id"])}
    assert set(named.values()) <= kept, (named, kept)
    people = [o for o in _occurrences(proto) if o["determination"]["by"] == "person"]
    assert len(people) == 2, _occurrences(proto)


def _junk_stage(proto: Protocol) -> None:
    config = pipeline_config()
    config["algorithms"].append({
        "name": "Junk filter", "key": "junk-filter", "task_type": "classification",
        "version": 1,
        "category_map": {"labels": ["keep", "junk"],
                         "data": [{"label": "keep", "index": 0}, {"label": "junk", "index": 1}]},
    })  # fmt: skip
    answer = proto.register(config)
    assert answer.status_code in (200, 201), answer.text


def test_a_box_a_stage_calls_a_label_mapped_as_no_object_is_counted_nowhere(
    proto: Protocol,
) -> None:
    """(e) A filter stage calls one of two boxes ``junk`` 0.8 (not terminal; the species stage
    still named it a moth), and a person maps ``junk`` as no object: "any stage's
    classification of it says so" keeps it out, as "a label a person mapped as no object"
    says there is nothing there. One moth everywhere."""
    _taxa(proto)
    pond, _ = _frames(proto, "Pond", 3)
    _junk_stage(proto)
    api_post(
        proto, f"/projects/{proto.project_id}/labels", {"label": "junk", "non_object": True}, 200
    )

    def stage(task_box: dict[str, Any], label: str, scores: list[float]) -> dict[str, Any]:
        species = task_box["classifications"][0]
        return {**species, "classification": label, "labels": ["keep", "junk"], "scores": scores,
                "logits": [1.0, -1.0], "terminal": False,
                "algorithm": {"name": "Junk filter", "key": "junk-filter"}}  # fmt: skip

    job = proto.job_that_runs(pipeline=PIPELINE_SLUG, params={"max_attempts": 1})
    items = []
    for task in proto.claim(job["id"], 100):
        moth = detection(task, bbox=MOTH, label="moth", scores=[0.9, 0.05, 0.05])
        moth["classifications"].insert(0, stage(moth, "keep", [0.9, 0.1]))
        leaf = detection(task, bbox=FLY, label="moth", scores=[0.9, 0.05, 0.05])
        leaf["classifications"].insert(0, stage(leaf, "junk", [0.2, 0.8]))
        items.append(success(task, moth, leaf))
    proto.post(job["id"], *items)
    track_all(proto)
    with _signed_in(proto) as browser:
        _agree_here_and_in(proto, browser, pond, 1, {"Lepidoptera": 1})


def test_a_species_label_mapped_as_no_object_is_counted_nowhere(proto: Protocol) -> None:
    """(e) The models name one box a fly; a person then maps ``fly`` as no object: one moth,
    everywhere."""
    _taxa(proto)
    pond, photos = _frames(proto, "Pond", 3)
    _register(proto)
    _run(proto, PIPELINE_SLUG, {p: [(MOTH, "moth"), (FLY, "fly")] for p in photos})
    track_all(proto)
    api_post(
        proto, f"/projects/{proto.project_id}/labels", {"label": "fly", "non_object": True}, 200
    )
    track_all(proto)
    with _signed_in(proto) as browser:
        _agree_here_and_in(proto, browser, pond, 1, {"Lepidoptera": 1})


def test_a_second_pipeline_on_the_same_photos_takes_no_count(proto: Protocol) -> None:
    """(f) moth-test's first results choose the deployment (a moth); a member's test pipeline
    then posts two flies and a beetle on the same photos. Nothing changes any count."""
    _taxa(proto)
    pond, photos = _frames(proto, "Pond", 3)
    _register(proto)
    _run(proto, PIPELINE_SLUG, {p: [(MOTH, "moth")] for p in photos})
    track_all(proto)
    _register(proto, "member-test")
    boxes = [(FLY, "fly"), (OTHER_FLY, "fly"), ((260, 10, 300, 50), "beetle")]
    _run(proto, "member-test", {p: list(boxes) for p in photos})
    track_all(proto)
    with _signed_in(proto) as browser:
        _agree_here_and_in(proto, browser, pond, 1, {"Lepidoptera": 1})


def test_a_taxon_only_a_person_named_counts_alike_everywhere(proto: Protocol) -> None:
    """(g) Two moths; a person names one Hymenoptera (no model's label maps to it): one
    Lepidoptera and one Hymenoptera on every surface, the taxon pages included."""
    taxa = _taxa(proto)
    pond, photos = _frames(proto, "Pond", 3)
    _register(proto)
    _run(proto, PIPELINE_SLUG, {p: [(MOTH, "moth"), (FLY, "moth")] for p in photos})
    track_all(proto)
    first, _ = sorted(o["id"] for o in _occurrences(proto))
    made = _identify(proto, first, taxa["Hymenoptera"])
    track_all(proto)
    with _signed_in(proto) as browser:
        _agree_here_and_in(proto, browser, pond, 2, {"Lepidoptera": 1, "Hymenoptera": 1})
    assert _history(proto, first) == [(made, "Hymenoptera")]


def test_people_s_words_of_every_kind_count_alike_everywhere(proto: Protocol) -> None:
    """Four individuals on three frames: a person rejects one whole ("not an animal"),
    relabels a box of another ``beetle`` (a review), calls the third's boxes false detections
    and leaves the fourth to the models. Then the counting pipeline runs again over the
    frames (the same boxes): one Coleoptera and one Lepidoptera on every surface, the
    taxa rolled up to the class (Insecta) too."""
    taxa = _taxa(proto)
    pond, photos = _frames(proto, "Pond", 3)
    _register(proto)
    where = [MOTH, FLY, OTHER_FLY, (260, 10, 300, 50)]
    _run(proto, PIPELINE_SLUG, {p: [(b, "moth") for b in where] for p in photos})
    track_all(proto)
    occs = sorted(_occurrences(proto), key=lambda o: o["id"])
    assert len(occs) == 4
    details = [api_get(proto, f"/occurrences/{o['id']}") for o in occs]
    reject = api_post(
        proto, f"/occurrences/{occs[0]['id']}/identifications", {"rejected": "not_an_animal"}, 201
    )["id"]
    box = details[1]["detections"][0]["annotation_id"]
    api_post(proto, f"/annotations/{box}/reviews", {"verdict": "relabel", "label": "beetle"}, 201)
    for d in details[2]["detections"]:
        api_post(proto, f"/annotations/{d['annotation_id']}/reviews",
                 {"verdict": "false_detection"}, 201)  # fmt: skip
    track_all(proto)
    with _signed_in(proto) as browser:
        _agree(_everywhere(proto, browser), 2, {"Coleoptera": 1, "Lepidoptera": 1})
        _run(proto, PIPELINE_SLUG, {p: [(b, "moth") for b in where] for p in photos})
        track_all(proto)
        _agree_here_and_in(proto, browser, pond, 2, {"Coleoptera": 1, "Lepidoptera": 1})
        insecta = api_get(proto, f"/projects/{proto.project_id}/taxa/{taxa['Insecta']}")
        assert insecta["occurrences"] == 2, insecta
        page = browser.page(f"/projects/{proto.project_id}/taxa/{taxa['Insecta']}")
        assert 'data-field="occurrences">2<' in page
        rolled = api_get(proto, f"/projects/{proto.project_id}/species", rank="class")["results"]
        assert [(r["taxon"]["scientific_name"], r["occurrences"]) for r in rolled] == [
            ("Insecta", 2)
        ]
    assert occs[0]["id"] not in {o["id"] for o in _occurrences(proto)}
    history = api_get(proto, f"/occurrences/{occs[0]['id']}/identifications")
    assert [i["id"] for i in history] == [reject]


def test_a_new_version_after_an_identification_counts_alike_and_keeps_it(
    proto: Protocol,
) -> None:
    """(c) A person names the moth Hymenoptera; version 2 of the counting pipeline runs over
    every frame and calls the box a fly and adds a beetle: the person's name moves to the
    successor; every surface counts one Hymenoptera and one Coleoptera."""
    taxa = _taxa(proto)
    pond, photos = _frames(proto, "Pond", 3)
    _register(proto)
    _run(proto, PIPELINE_SLUG, {p: [(MOTH, "moth")] for p in photos})
    track_all(proto)
    (occ,) = _occurrences(proto)
    made = _identify(proto, occ["id"], taxa["Hymenoptera"])
    _register(proto, version=2)
    _run(proto, PIPELINE_SLUG, {p: [((11, 13, 61, 71), "fly"), (FLY, "beetle")] for p in photos},
         version=2)  # fmt: skip
    track_all(proto)
    assert occ["id"] in {o["id"] for o in _occurrences(proto)}
    assert _history(proto, occ["id"]) == [(made, "Hymenoptera")]
    with _signed_in(proto) as browser:
        _agree_here_and_in(proto, browser, pond, 2, {"Hymenoptera": 1, "Coleoptera": 1})


def test_a_switch_after_an_identification_carries_it_and_counts_agree(proto: Protocol) -> None:
    """A person names North's moth (moth-test's) Hymenoptera, then counts North by
    other-test, which boxed the same animal (a fly) and one more fly: the name is carried, and
    every surface counts one Hymenoptera and one Diptera. The project's choice of moth-test
    afterwards leaves North (a person's choice for it) as it is; switching back counts the
    moth-test individual, still named."""
    taxa = _taxa(proto)
    north, photos = _frames(proto, "North", 3)
    _register(proto)
    _register(proto, "other-test")
    _run(proto, PIPELINE_SLUG, {p: [(MOTH, "moth")] for p in photos})
    track_all(proto)
    _run(proto, "other-test", {p: [((11, 12, 61, 70), "fly"), (FLY, "fly")] for p in photos})
    track_all(proto)
    (occ,) = _occurrences(proto)
    made = _identify(proto, occ["id"], taxa["Hymenoptera"])
    track_all(proto)
    _count_by(proto, north, "other-test")
    with _signed_in(proto) as browser:
        _agree(_everywhere(proto, browser), 2, {"Hymenoptera": 1, "Diptera": 1})
        answer = proto.client.patch(
            f"{API}/projects/{proto.project_id}",
            json={"counting_pipeline": PIPELINE_SLUG}, headers=proto.headers,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        track_all(proto)
        _agree(_everywhere(proto, browser, north), 2, {"Hymenoptera": 1, "Diptera": 1})
        back = proto.client.put(
            f"{API}/deployments/{north}/counting", json={"pipeline": PIPELINE_SLUG},
            headers=proto.headers,
        )  # fmt: skip
        assert back.status_code == 200, back.text
        track_all(proto)
        _agree(_everywhere(proto, browser), 1, {"Hymenoptera": 1})
    assert made in [i for i, _ in _history(proto, occ["id"])]
