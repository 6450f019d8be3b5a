"""The taxa pages in-process: importing a taxa file through the form (every row's outcome, a
bad file refused whole), mapping labels, the species view and its filters, a taxon's charts,
identifying, agreeing and withdrawing on an occurrence's page, the identification queue, the
project's licence and contacts, and who may see and do what."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.protocol_client import Protocol
from tests.support.scenes import API, TAXA_CSV, heron, heron_event, occurrences_of
from tests.support.settings import make_settings
from tests.support.web import Browser, table
from trapline.domain.taxa.taxa_rows import MAX_TAXA_BYTES
from trapline.settings import Settings

Scene = tuple[Protocol, Browser, dict[str, Any]]


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    """Requests large enough for a taxa file over its own limit to reach the page."""
    return make_settings(request, tmp_path, database_url, max_request_bytes=48 * 1024 * 1024)


@pytest.fixture
def scene(proto: Protocol, sign_in: Callable[[Account], Browser]) -> Scene:
    """The heron scene tracked and the taxa list imported through the API; the owner signed
    in; the bird's occurrence (the person far off is the other)."""
    heron(proto)
    imported = proto.client.post(
        f"{API}/projects/{proto.project_id}/taxa",
        files={"file": ("taxa.csv", TAXA_CSV.encode(), "text/csv")},
        headers=proto.headers,
    )
    assert imported.status_code == 200, imported.text
    _, event = heron_event(proto)
    bird = next(o for o in occurrences_of(proto, event) if o["detection_count"] == 10)
    return proto, sign_in(proto.account), bird


def bars(html: str, svg_id: str) -> list[tuple[int, float]]:
    """The (value, height) of each bar of a server-drawn chart."""
    found = re.search(rf'<svg id="{svg_id}".*?</svg>', html, re.S)
    assert found, f"no chart {svg_id}"
    drawn = re.findall(
        r'<rect class="bar"[^>]* height="([\d.]+)" data-value="(\d+)"', found.group(0)
    )
    assert len(drawn) == found.group(0).count("<rect")
    return [(int(value), float(height)) for height, value in drawn]


def _import(browser: Browser, project: int, data: bytes, name: str = "taxa.csv") -> Any:
    return browser.client.post(
        f"/projects/{project}/taxa/import",
        data={"csrf": browser.csrf()},
        files={"file": (name, data, "text/csv")},
        follow_redirects=False,
    )


def _map(browser: Browser, project: int, label: str, action: str, taxon: str = "") -> Any:
    return browser.post(
        f"/projects/{project}/labels", {"label": label, "action": action, "taxon": taxon}
    )


def test_a_taxa_file_imports_through_the_form_and_a_bad_one_is_refused_whole(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    browser = sign_in(proto.account)
    p = proto.project_id
    assert "No taxa list yet" in browser.page(f"/projects/{p}/taxa")
    answer = _import(browser, p, TAXA_CSV.encode())
    assert answer.status_code == 200, answer.text
    rows = table(answer.text, "outcomes")
    assert [(r[1], r[2]) for r in rows][:2] == [("Animalia", "added"), ("Chordata", "added")]
    assert {r[2] for r in rows} == {"added"}
    assert len(rows) == 8
    assert "8 added, 0 updated, 0 unchanged." in answer.text
    names = [r[0] for r in table(answer.text, "taxa")]
    assert names[:3] == ["Animalia", "Ardea", "Ardea alba"]
    ardea = next(r for r in table(answer.text, "taxa") if r[0] == "Ardea cinerea")
    assert ardea == ["Ardea cinerea", "species", "Ardea", "2480830 on GBIF", "Grey Heron (en)"]
    # One bad row among good ones: nothing imported, every row's outcome shown.
    bad = "scientific_name,rank,parent\nLepidoptera,order,\nArdea alba,species,Ardea\nX,clade,\n"
    refused = _import(browser, p, bad.encode())
    assert refused.status_code == 400
    assert "Nothing imported" in refused.text
    outcomes = table(refused.text, "outcomes")
    assert [(r[0], r[1], r[2]) for r in outcomes] == [
        ("1", "Lepidoptera", "added"),
        ("2", "Ardea alba", "unchanged"),
        ("3", "X", "error"),
    ]
    assert "rank" in outcomes[2][3]
    assert "Lepidoptera" not in [r[0] for r in table(browser.page(f"/projects/{p}/taxa"), "taxa")]
    for data, words in ((b"", "the file is empty"), (b"\xff\xfe\x00bad", "not utf-8 text")):
        empty = _import(browser, p, data)
        assert empty.status_code == 400
        assert words in empty.text.lower()
    none = browser.client.post(
        f"/projects/{p}/taxa/import", data={"csrf": browser.csrf()}, follow_redirects=False
    )
    assert none.status_code == 400
    assert "file: choose a taxa file" in none.text
    huge = _import(browser, p, b"scientific_name,rank\n" + b"A" * (MAX_TAXA_BYTES + 10**6))
    assert huge.status_code == 413
    assert "a taxa file may be at most 32 MB" in huge.text
    assert 'id="import-error"' in huge.text
    exported = browser.client.get(f"/projects/{p}/taxa/export")
    assert exported.status_code == 200
    assert exported.text.splitlines()[0].startswith("scientific_name,rank,parent")
    assert len(exported.text.strip().splitlines()) == 9


def test_a_refused_file_of_many_bad_rows_shows_the_first_1000_and_counts_the_rest(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    browser = sign_in(proto.account)
    rows = "".join(f"Genus{n:04d},kind\n" for n in range(1, 1201))
    refused = _import(browser, proto.project_id, f"scientific_name,rank\n{rows}".encode())
    assert refused.status_code == 400
    assert "1,200 of 1,200 rows have problems" in refused.text
    outcomes = table(refused.text, "outcomes")
    assert len(outcomes) == 1_000
    assert outcomes[-1][:3] == ["1000", "Genus1000", "error"]
    assert "200 more rows are not listed." in refused.text


def test_labels_are_mapped_on_the_labels_page(scene: Scene) -> None:
    proto, browser, _ = scene
    p = proto.project_id
    page = browser.page(f"/projects/{p}/labels")
    rows = table(page, "labels")
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("animal", "1", "unmapped"),
        ("person", "1", "unmapped"),
    ]
    assert page.count('class="unmapped"') == 2
    assert page.count('role="combobox"') == 2
    suggested = browser.client.get(f"/projects/{p}/taxa/suggest", params={"q": "ard"})
    assert suggested.status_code == 200
    assert [s["value"] for s in suggested.json()] == [
        "Ardea (genus)", "Ardeidae (family)", "Ardea alba (species)", "Ardea cinerea (species)",
    ]  # fmt: skip
    assert suggested.json()[1]["label"] == "Herons"
    short = browser.client.get(
        f"/projects/{p}/taxa/suggest", params={"q": "a"}, headers={"Accept": "application/json"}
    )
    assert short.status_code == 400
    assert _map(browser, p, "animal", "taxon", "Ardea cinerea (species)").status_code == 303
    assert _map(browser, p, "person", "no_object").status_code == 303
    rows = table(browser.page(f"/projects/{p}/labels"), "labels")
    assert [r[:4] for r in rows] == [
        ["animal", "1", "Ardea cinerea species", "set by a person"],
        ["person", "1", "no object", "set by a person"],
    ]
    # By its vernacular name, as typed without the script.
    assert _map(browser, p, "animal", "taxon", "great egret").status_code == 303
    assert table(browser.page(f"/projects/{p}/labels"), "labels")[0][2] == "Ardea alba species"
    wrong = _map(browser, p, "animal", "taxon", "Ardea cinereus")
    assert wrong.status_code == 400
    assert 'id="map-1-error"' in wrong.text
    assert "no taxon of the project&#39;s list is named" in wrong.text
    assert 'value="Ardea cinereus"' in wrong.text  # what was typed is kept
    assert _map(browser, p, "animal", "clear").status_code == 303
    assert table(browser.page(f"/projects/{p}/labels"), "labels")[0][2] == "unmapped"


def test_the_species_page_counts_and_filters(scene: Scene) -> None:
    proto, browser, bird = scene
    p = proto.project_id
    species = table(browser.page(f"/projects/{p}/species"), "species")
    assert species == [["", "No taxon (labels that stand for no taxon of the list)", "2", "11", "1",
                        "2024-03-01", "2024-03-01"]]  # fmt: skip
    assert f'href="/projects/{p}/labels">No taxon' in browser.page(f"/projects/{p}/species")
    _map(browser, p, "animal", "taxon", "Ardea cinerea (species)")
    _map(browser, p, "person", "no_object")
    page = browser.page(f"/projects/{p}/species")
    assert table(page, "species") == [
        ["", "Ardea cinerea", "species", "Grey Heron", "1", "10", "1", "2024-03-01", "2024-03-01"]
    ]
    assert f'src="/annotations/{bird["best_detection_id"]}/crop"' in page
    for rank, name in (("family", "Ardeidae"), ("order", "Pelecaniformes"), ("genus", "Ardea")):
        rolled = table(browser.page(f"/projects/{p}/species?rank={rank}"), "species")
        assert [(r[1], r[2], r[4]) for r in rolled] == [(name, rank, "1")]
    pond, _ = heron_event(proto)
    other = proto.deployment("Empty trap")
    for query, seen in (
        (f"deployment={pond}", True),
        (f"deployment={other}", False),
        ("since=2024-03-01&until=2024-03-01", True),
        ("since=2024-03-02", False),
        ("until=2024-02-29", False),
    ):
        page = browser.page(f"/projects/{p}/species?{query}")
        assert ('id="species"' in page) is seen, query
    for query, words in (
        ("rank=clade", "rank: one of order, family"),
        ("rank=kingdom", "rank: one of order, family"),
        ("since=2024-13-01", "since: a date like 2024-06-21"),
        ("deployment=abc", "deployment: pick one of the list"),
        ("since=2024-03-02&until=2024-03-01", "since: the first night comes after the last"),
    ):
        refused = browser.page(f"/projects/{p}/species?{query}", status=400)
        assert words in refused, query
        assert 'id="species"' not in refused


def test_a_taxons_page_draws_its_nights_and_hours(scene: Scene) -> None:
    proto, browser, bird = scene
    p = proto.project_id
    _map(browser, p, "animal", "taxon", "Ardea cinerea (species)")
    taxon = re.search(r'/taxa/(\d+)"><i>Ardea cinerea', browser.page(f"/projects/{p}/species"))
    assert taxon
    for name in ("Ardea cinerea", "Aves"):
        found = re.search(rf'/taxa/(\d+)"><i>{name}</i>', browser.page(f"/projects/{p}/taxa"))
        assert found, name
        page = browser.page(f"/projects/{p}/taxa/{found.group(1)}")
        assert re.search(r'data-field="occurrences">1<', page)
        assert re.search(r'data-field="detections">10<', page)
        assert bars(page, "phenology") == [(1, 124.0)]
        hours = bars(page, "activity")
        assert len(hours) == 24
        # Noon to noon: 21:00 is the tenth hour drawn.
        assert [v for v, _ in hours] == [0] * 9 + [1] + [0] * 14
        assert [h for _, h in hours] == [0.0] * 9 + [124.0] + [0.0] * 14
        assert "First seen most often from 21:00 to 21:59 (1 of 1 occurrence)." in page
        assert table(page, "per-deployment") == [["Pond", "1"]]
        assert re.findall(r'<a href="/occurrences/(\d+)"><img', page) == [str(bird["id"])]
    lineage = re.search(r'<nav class="lineage".*?</nav>', page, re.S)
    assert lineage
    assert re.findall(r"<a href=\"/projects/\d+/taxa/\d+\">([^<]+)</a>", lineage.group(0)) == [
        "Animalia", "Chordata",
    ]  # fmt: skip
    quiet = browser.page(f"/projects/{p}/taxa/{taxon.group(1)}?since=2024-03-02")
    assert 'data-field="occurrences">0<' in quiet
    assert bars(quiet, "phenology") == []
    assert "No occurrence in these nights." in quiet
    assert "until: a date like" in browser.page(
        f"/projects/{p}/taxa/{taxon.group(1)}?until=soon", status=400
    )


def test_people_identify_agree_and_withdraw_on_the_occurrences_page(
    scene: Scene, make_account: Callable[..., Account], sign_in: Callable[[Account], Browser]
) -> None:
    proto, olive, bird = scene
    occurrence = f"/occurrences/{bird['id']}"
    page = olive.page(occurrence)
    assert 'id="identify-form"' in page
    assert "determined by the model" in page
    made = olive.post(
        f"{occurrence}/identify", {"taxon": "Ardea cinerea (species)", "comment": "grey neck"}
    )
    assert made.status_code == 303, made.text  # type: ignore[attr-defined]
    page = olive.page(occurrence)
    determination = re.search(r'<p class="determination".*?</p>', page, re.S)
    assert determination
    assert "<i>Ardea cinerea</i>" in determination.group(0)
    assert "identified by Olive" in determination.group(0)
    assert "people disagree" not in page
    assert "“grey neck”" in page
    assert ">Agree<" not in page  # nobody else's word to agree with
    ann, bob = make_account("ann"), make_account("bob")
    proto.add_member(ann, "member")
    proto.add_member(bob, "member")
    ann_browser = sign_in(ann)
    (first,) = re.findall(r'name="agree_with" value="(\d+)"', ann_browser.page(occurrence))
    agreed = ann_browser.post(f"{occurrence}/identify", {"agree_with": first})
    assert agreed.status_code == 303  # type: ignore[attr-defined]
    assert "agreeing with Olive" in olive.page(occurrence)
    sign_in(bob).post(f"{occurrence}/identify", {"taxon": "Ardea alba (species)"})
    page = olive.page(occurrence)
    assert 'id="disputed">people disagree' in page
    assert "identified by Bob" in page
    queue = olive.page(f"/projects/{proto.project_id}/identify")
    assert re.findall(r'href="/occurrences/(\d+)#identification"', queue)[0] == str(bird["id"])
    withdraw = re.search(rf'action="/identifications/{first}/withdraw"', page)
    assert withdraw
    assert olive.post(f"/identifications/{first}/withdraw", {}).status_code == 303  # type: ignore[attr-defined]
    page = olive.page(occurrence)
    assert f'<li id="identification-{first}" class="withdrawn">' in page
    assert "(withdrawn)" in page
    # Agreeing with a model whose label names no taxon is refused with a message on the page.
    refused = olive.post(f"{occurrence}/identify", {"agree_with": "model"})
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert 'id="identify-error"' in refused.text  # type: ignore[attr-defined]
    assert "map the label to a taxon first" in refused.text  # type: ignore[attr-defined]
    unknown = olive.post(f"{occurrence}/identify", {"taxon": "Dodo", "comment": "hmm"})
    assert unknown.status_code == 400  # type: ignore[attr-defined]
    assert "no taxon of the project&#39;s list is named &#39;Dodo&#39;" in unknown.text  # type: ignore[attr-defined]
    assert ">hmm</textarea>" in unknown.text  # type: ignore[attr-defined]
    species = table(olive.page(f"/projects/{proto.project_id}/species"), "species")
    assert species[0][1:5] == ["Ardea alba", "species", "Great Egret", "1"]


def test_the_queue_puts_the_disputed_first(
    scene: Scene, make_account: Callable[..., Account], sign_in: Callable[[Account], Browser]
) -> None:
    proto, olive, bird = scene
    _, event = heron_event(proto)
    person = next(o for o in occurrences_of(proto, event) if o["id"] != bird["id"])
    queue = olive.page(f"/projects/{proto.project_id}/identify")
    # Neither names a species; the person's box is the less sure.
    assert re.findall(r'href="/occurrences/(\d+)#identification"', queue) == [
        str(person["id"]), str(bird["id"]),
    ]  # fmt: skip
    olive.post(f"/occurrences/{bird['id']}/identify", {"taxon": "Ardea cinerea (species)"})
    ann = make_account("ann")
    proto.add_member(ann, "member")
    sign_in(ann).post(f"/occurrences/{bird['id']}/identify", {"taxon": "Ardea alba (species)"})
    queue = olive.page(f"/projects/{proto.project_id}/identify")
    assert re.findall(r'href="/occurrences/(\d+)#identification"', queue) == [
        str(bird["id"]), str(person["id"]),
    ]  # fmt: skip
    assert "people disagree" in queue


def test_a_stranger_finds_nothing_and_a_viewer_changes_nothing(
    scene: Scene, make_account: Callable[..., Account], sign_in: Callable[[Account], Browser]
) -> None:
    proto, olive, bird = scene
    p = proto.project_id
    olive.post(f"/occurrences/{bird['id']}/identify", {"taxon": "Ardea cinerea (species)"})
    mine = re.search(r"/identifications/(\d+)/withdraw", olive.page(f"/occurrences/{bird['id']}"))
    taxon = re.search(r'/taxa/(\d+)"><i>Aves', olive.page(f"/projects/{p}/taxa"))
    assert mine
    assert taxon
    pages = (
        "/projects/{p}/taxa", "/projects/{p}/labels", "/projects/{p}/species",
        "/projects/{p}/identify", "/projects/{p}/taxa/{t}", "/occurrences/{o}",
        "/projects/{p}/taxa/suggest?q=ard", "/projects/{p}/taxa/export",
    )  # fmt: skip
    ids = {"p": p, "t": taxon.group(1), "o": bird["id"]}
    missing = {"p": 10**9, "t": 10**9 + 1, "o": 10**9 + 2}
    stranger = sign_in(make_account("eve"))
    scrub = re.compile(r"\d+")
    for path in pages:
        foreign = stranger.client.get(path.format(**ids))
        absent = stranger.client.get(path.format(**missing))
        assert foreign.status_code == absent.status_code == 404, path
        assert scrub.sub("N", foreign.text) == scrub.sub("N", absent.text), path
    posts = {
        f"/occurrences/{bird['id']}/identify": {"taxon": "Aves (class)"},
        f"/projects/{p}/labels": {"label": "animal", "action": "no_object"},
        f"/projects/{p}/taxa/share": {"list_id": "1"},
        f"/identifications/{mine.group(1)}/withdraw": {"occurrence": str(bird["id"])},
    }
    for path, data in posts.items():
        assert stranger.post(path, data).status_code == 404, path  # type: ignore[attr-defined]
    assert _import(stranger, p, TAXA_CSV.encode()).status_code == 404
    viewer = make_account("vera")
    proto.add_member(viewer, "viewer")
    seen = sign_in(viewer)
    taxa_page = seen.page(f"/projects/{p}/taxa")
    assert "/taxa/import" not in taxa_page
    assert "/taxa/share" not in taxa_page
    assert "map-form" not in seen.page(f"/projects/{p}/labels")
    occurrence = seen.page(f"/occurrences/{bird['id']}")
    assert "identify-form" not in occurrence
    assert "/withdraw" not in occurrence
    assert "identified by Olive" in occurrence  # seen, not changed
    assert 'id="species"' in seen.page(f"/projects/{p}/species")
    for path, data in posts.items():
        assert seen.post(path, data).status_code == 403, path  # type: ignore[attr-defined]
    assert _import(seen, p, TAXA_CSV.encode()).status_code == 403


def test_managers_set_the_licence_and_contacts(
    proto: Protocol, sign_in: Callable[[Account], Browser], make_account: Callable[..., Account]
) -> None:
    browser = sign_in(proto.account)
    p = proto.project_id
    contacts = (
        "Ann Lee <ann@example.org>; Moth Society; principalInvestigator\n\n"
        "Bob Roe; ; rightsHolder\nCara"
    )
    saved = browser.post(
        f"/projects/{p}/publishing", {"licence": "CC-BY-4.0", "contacts": contacts}
    )
    assert saved.status_code == 303, saved.text  # type: ignore[attr-defined]
    project = proto.client.get(f"{API}/projects/{p}", headers=proto.headers).json()
    assert project["licence"] == "CC-BY-4.0"
    assert [(c["name"], c["email"], c["organisation"], c["role"]) for c in project["contacts"]] == [
        ("Ann Lee", "ann@example.org", "Moth Society", "principalInvestigator"),
        ("Bob Roe", "", "", "rightsHolder"),
        ("Cara", "", "", "contact"),
    ]
    home = browser.page(f"/projects/{p}")
    shown = "Ann Lee &lt;ann@example.org&gt;; Moth Society; principalInvestigator\nBob Roe; ; "
    assert shown + "rightsHolder\nCara; ; contact</textarea>" in home
    for lines, words in (
        ("Ann <ann@example.org>\nBob; Pond; boss", "line 2: role: Input should be"),
        ("ann@example.org Ann", "line 1: put the email in angle brackets"),
        ("Ann <ann>", "line 1: put the email in angle brackets"),
        ("Ann; a; contact; extra", "line 1: role: Input should be"),
        ("Ann <ann@example.org; Pond", "line 1: write name &lt;email&gt;; organisation; role"),
        ("A" * 201, "line 1: name: String should have at most 200 characters"),
        ("\n".join(f"P{n}" for n in range(21)), "contacts: at most 20, one a line (got 21)"),
    ):
        refused = browser.post(f"/projects/{p}/publishing", {"licence": "", "contacts": lines})
        assert refused.status_code == 400, lines  # type: ignore[attr-defined]
        assert words in refused.text, (lines, refused.text)  # type: ignore[attr-defined]
        assert 'id="contacts-error"' in refused.text  # type: ignore[attr-defined]
    long = browser.post(f"/projects/{p}/publishing", {"licence": "x" * 256, "contacts": ""})
    assert long.status_code == 400  # type: ignore[attr-defined]
    assert "licence: String should have at most 255 characters" in long.text  # type: ignore[attr-defined]
    again = proto.client.get(f"{API}/projects/{p}", headers=proto.headers).json()
    assert (again["licence"], len(again["contacts"])) == ("CC-BY-4.0", 3)  # nothing changed
    viewer = make_account("vera")
    proto.add_member(viewer, "viewer")
    seen = sign_in(viewer)
    page = seen.page(f"/projects/{p}")
    assert "/publishing" not in page
    assert "Ann Lee (Moth Society), principalInvestigator" in page
    refused = seen.post(f"/projects/{p}/publishing", {"licence": "", "contacts": ""})
    assert refused.status_code == 403  # type: ignore[attr-defined]


def test_saving_the_licence_keeps_contacts_whose_organisation_holds_semicolons(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    p = proto.project_id
    contacts = [
        {
            "name": "Ann Lee",
            "email": "ann@example.org",
            "organisation": "Natural History Museum; Entomology",
            "role": "rightsHolder",
        },
        {"name": "Bob Roe", "email": "", "organisation": "Pond; Lab; B", "role": "contact"},
    ]
    set_by_api = proto.client.patch(
        f"{API}/projects/{p}", headers=proto.headers, json={"contacts": contacts}
    )
    assert set_by_api.status_code == 200, set_by_api.text
    browser = sign_in(proto.account)
    home = browser.page(f"/projects/{p}")
    shown = re.search(r'<textarea id="p-contacts"[^>]*>([^<]*)</textarea>', home)
    assert shown is not None
    lines = shown[1].replace("&lt;", "<").replace("&gt;", ">")
    # The form sends back what it showed, with only the licence typed.
    saved = browser.post(f"/projects/{p}/publishing", {"licence": "CC0-1.0", "contacts": lines})
    assert saved.status_code == 303, saved.text  # type: ignore[attr-defined]
    project = proto.client.get(f"{API}/projects/{p}", headers=proto.headers).json()
    assert project["licence"] == "CC0-1.0"
    assert project["contacts"] == contacts


@pytest.mark.parametrize(
    ("contact", "words"),
    [
        ({"name": "ann@example.org"}, "name: a name only, without @"),
        ({"name": "Lee; Ann"}, "name: a name only, without ;"),
        ({"name": "Ann", "email": "ann"}, "email: an email such as ann@example.org, or nothing"),
        ({"name": "Ann", "email": "ann@example.org>"}, "email: an email such as"),
        ({"name": "Ann", "organisation": "Pond\nLab"}, "organisation: "),
    ],
)
def test_contacts_the_form_could_not_show_back_are_refused_by_the_api(
    proto: Protocol, contact: dict[str, str], words: str
) -> None:
    refused = proto.client.patch(
        f"{API}/projects/{proto.project_id}", headers=proto.headers, json={"contacts": [contact]}
    )
    assert refused.status_code == 400, refused.text
    assert words in refused.text
    project = proto.client.get(f"{API}/projects/{proto.project_id}", headers=proto.headers)
    assert project.json()["contacts"] == []
