"""The web app's pages, driven over HTTP in-process: access, forms, CSRF, escaping, reviews.

The browser tests (test_browser.py) drive the same pages in Chromium against a real server.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from tests.support.accounts import Account, upload
from tests.support.app_client import AppClient
from tests.support.protocol import detection, pipeline_config, success
from tests.support.protocol_client import Protocol
from tests.support.web import CHEAP_HASH, PASSWORD, Browser, csrf_of
from trapline.app import create_app
from trapline.clock import FakeClock
from trapline.db.engine import Database
from trapline.domain.ecology.reviews import Verdict
from trapline.imaging.synthetic import light_trap_jpeg
from trapline.platform import Platform
from trapline.services.core import accounts

PAGES = (
    "/projects",
    "/projects/{p}",
    "/projects/{p}/images",
    "/projects/{p}/jobs",
    "/projects/{p}/review",
    "/projects/{p}/deployments",
    "/projects/{p}/processing",
    "/projects/{p}/members",
    "/images/{i}",
    "/images/{i}/exif",
    "/jobs/{j}",
    "/deployments/{d}",
    "/analyses/{a}",
    "/account",
)


@pytest.fixture
def analysed(client: AppClient, owner: Account, project_id: int, jpeg: Callable[..., bytes]):
    """The owner's project: a deployment, two images, a finished job with one box on each."""
    proto = Protocol(client, owner, project_id, jpeg)
    assert proto.register(pipeline_config()).status_code == 201
    deployment = proto.deployment("Trap <b>A</b>")
    images = proto.images(2, deployment_id=str(deployment))
    job = proto.job_that_runs()
    tasks = proto.claim(job["id"], 10)
    proto.post(
        job["id"],
        *[success(t, detection(t, bbox=(10, 12, 60, 70), scores=[0.3, 0.6, 0.1])) for t in tasks],
    )
    proto.wait(job["id"], {"succeeded"})
    seen = client.get(f"/api/v2/images/{images[0]}", headers=owner.headers).json()
    analysis = seen["analyses"][0]["id"]
    return {
        "p": project_id, "i": images[0], "j": job["id"], "d": deployment, "a": analysis,
        "proto": proto,
    }  # fmt: skip


def test_signed_out_pages_go_to_sign_in(client: AppClient) -> None:
    answer = client.get("/projects/1/images?deployment=2", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=%2Fprojects%2F1%2Fimages%3Fdeployment%3D2"
    form = client.get("/signin")
    assert form.status_code == 200
    assert 'name="password"' in form.text


def test_every_page_renders_for_the_owner(
    sign_in: Callable[[Account], Browser], owner: Account, analysed: dict
) -> None:
    browser = sign_in(owner)
    for template in PAGES:
        path = template.format(**analysed)
        answer = browser.client.get(path)
        assert answer.status_code == 200, (path, answer.text[:300])
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "<script>" not in answer.text  # modules only, from /static
        assert "Trap &lt;b&gt;A&lt;/b&gt;" in answer.text or "Trap" not in answer.text


def test_session_cookie_is_httponly_and_lax(
    sign_in: Callable[[Account], Browser], owner: Account
) -> None:
    browser = sign_in(owner)
    assert browser.client.cookies.get("trapline_session", "").startswith("tls_")
    accounts_page = browser.page("/account")
    assert "tls_" not in accounts_page  # the secret is never shown


def test_sign_in_cookie_flags(client: AppClient, owner: Account, app_db) -> None:
    from trapline.services.core import accounts

    accounts.set_password(app_db, None, owner.id, PASSWORD)
    token = csrf_of(client.get("/signin").text)
    answer = client.post(
        "/signin",
        data={"csrf": token, "email": owner.email, "password": PASSWORD},
        follow_redirects=False,
    )
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and "trapline_session" in v
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # plain HTTP here; behind HTTPS it is Secure


def _signin_from(app: Any, address: str) -> AppClient:
    """A browser at ``address`` (the address that connects) on ``app``: browsers of one app
    share its sign-in limits, as the browsers of one server do."""
    return AppClient(app, client=(address, 50000))


def _try(browser: AppClient, email: str, password: str) -> Any:
    token = csrf_of(browser.get("/signin").text)
    return browser.post(
        "/signin",
        data={"csrf": token, "email": email, "password": password},
        follow_redirects=False,
    )


def test_failed_sign_ins_slow_the_guesser_not_the_owner(
    platform: Platform, owner: Account, app_db: Database, fake_clock: FakeClock
) -> None:
    """The waits go by the platform's clock, which stands still here: a slow password check
    (an unknown email's, on a loaded machine) does not let the guesser's wait run out."""
    accounts.set_password(app_db, None, owner.id, PASSWORD)
    app = create_app(platform)
    with (
        _signin_from(app, "203.0.113.7") as guesser,
        _signin_from(app, "198.51.100.2") as owner_elsewhere,
    ):
        statuses = [_try(guesser, owner.email, "wrong guess!!").status_code for _ in range(6)]
        assert statuses[:5] == [400] * 5  # shown as a wrong password
        assert "wrong email or password" in _try(guesser, "x@example.org", "nope nope!").text
        assert statuses[5] == 429  # then the guesser waits, twice as long each time
        refused = _try(guesser, owner.email, PASSWORD)  # even the right one, from there
        assert refused.status_code == 429
        assert "too many failed attempts from here" in refused.text
        assert int(refused.headers["Retry-After"]) >= 1
        # The owner, from anywhere else, signs in at once, and that clears the account's count.
        assert _try(owner_elsewhere, owner.email, PASSWORD).status_code == 303
        assert _try(guesser, owner.email, PASSWORD).status_code == 303
        # A made-up X-Forwarded-For is not believed (no trusted proxy is configured).
        for n in range(6):
            _try(guesser, owner.email, f"wrong again {n}!")
        spoofed = guesser.headers.copy()
        spoofed["X-Forwarded-For"] = "192.0.2.99"
        guesser.headers = spoofed
        assert _try(guesser, owner.email, PASSWORD).status_code == 429


def test_a_guesser_behind_a_shared_address_does_not_keep_the_others_out(
    platform: Platform,
    make_account: Callable[..., Account],
    app_db: Database,
    fake_clock: FakeClock,
) -> None:
    """Behind a proxy nobody listed (or an office's NAT) every browser has one address: a
    guesser there over many accounts (spraying) slows down on every account, and those who
    signed in from their browsers before still sign in at once."""
    guessed = [make_account(f"guessed{n}") for n in range(21)]
    colleague, newcomer = make_account("colleague"), make_account("newcomer")
    with app_db.write() as repos:
        for account in [*guessed, colleague, newcomer]:
            repos.core.users.set_password_hash(account.id, CHEAP_HASH)
    app = create_app(platform)
    with (
        _signin_from(app, "192.0.2.50") as shared,
        _signin_from(app, "192.0.2.50") as colleagues_browser,
        _signin_from(app, "192.0.2.50") as newcomers_browser,
    ):
        assert _try(colleagues_browser, colleague.email, PASSWORD).status_code == 303
        for account in guessed[:20]:  # five each: as many as the pairs let through at once
            for n in range(5):
                assert _try(shared, account.email, f"guess {n}!!").status_code == 400
        # 100 failures from the address: past them, any account waits, one never tried
        # from there too, so spraying one password over thousands of accounts is slowed.
        assert _try(shared, guessed[20].email, "one guess!!").status_code == 429
        assert _try(shared, guessed[20].email, PASSWORD).status_code == 429
        assert _try(newcomers_browser, newcomer.email, PASSWORD).status_code == 429
        # A browser that signed in to its account before is spared the address's count.
        colleagues_browser.cookies.delete("trapline_session")  # signed out, its session gone
        assert _try(colleagues_browser, colleague.email, PASSWORD).status_code == 303
        assert _try(colleagues_browser, newcomer.email, PASSWORD).status_code == 429
        # Its wait over, the address gets one more try, and waits longer after a wrong one.
        fake_clock.advance(1)
        assert _try(shared, guessed[20].email, "two guesses!!").status_code == 400
        assert _try(shared, guessed[20].email, PASSWORD).status_code == 429


def test_a_password_reset_clears_the_failures_of_the_account(
    platform: Platform, owner: Account, admin: Account, app_db: Database, fake_clock: FakeClock
) -> None:
    accounts.set_password(app_db, None, owner.id, PASSWORD)
    with _signin_from(create_app(platform), "203.0.113.8") as browser:
        for n in range(6):
            _try(browser, owner.email, f"forgotten {n}!!")
        assert _try(browser, owner.email, PASSWORD).status_code == 429
        with app_db.read() as repos:
            admin_user = repos.core.users.get(admin.id)
        assert admin_user is not None
        new = accounts.reset_password(app_db, admin_user, owner.id)
        assert _try(browser, owner.email, new).status_code == 303


def test_csrf_is_required_on_every_form(
    sign_in: Callable[[Account], Browser], owner: Account, make_account: Callable[..., Account]
) -> None:
    browser = sign_in(owner)
    missing = browser.client.post("/projects", data={"name": "No token"}, follow_redirects=False)
    assert missing.status_code == 403
    assert "security token" in missing.text
    # Another person's token does not pass either.
    other = sign_in(make_account("mallory"))
    foreign = browser.client.post(
        "/projects", data={"name": "Theirs", "csrf": other.csrf()}, follow_redirects=False
    )
    assert foreign.status_code == 403
    # The sign-in form too (login CSRF).
    fresh = AppClient(browser.client.app)
    refused = fresh.post("/signin", data={"email": owner.email, "password": PASSWORD})
    assert refused.status_code == 403
    made = browser.post("/projects", {"name": "With token"})
    assert made.status_code == 303  # type: ignore[attr-defined]


def test_project_form_shows_errors_next_to_the_field(
    sign_in: Callable[[Account], Browser], owner: Account
) -> None:
    browser = sign_in(owner)
    answer = browser.post("/projects", {"name": "   "})
    assert answer.status_code == 400  # type: ignore[attr-defined]
    assert 'id="name-error"' in answer.text  # type: ignore[attr-defined]
    assert 'aria-invalid="true"' in answer.text  # type: ignore[attr-defined]


def test_foreign_project_pages_answer_like_missing_ones(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    make_account: Callable[..., Account],
    analysed: dict,
) -> None:
    stranger = sign_in(make_account("stranger"))
    for template in PAGES[1:-1]:
        foreign = stranger.client.get(template.format(**analysed))
        missing_ids = {k: 10**9 + n for n, k in enumerate(("p", "i", "j", "d", "a"))}
        missing = stranger.client.get(template.format(**missing_ids))
        assert foreign.status_code == missing.status_code == 404, template
        scrub = re.compile(r"\d+")
        assert scrub.sub("N", foreign.text) == scrub.sub("N", missing.text), template


def test_names_cannot_inject_markup(sign_in: Callable[[Account], Browser], owner: Account) -> None:
    browser = sign_in(owner)
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)>"'
    made = browser.post("/projects", {"name": evil, "description": evil})
    home = browser.page(made.headers["location"])  # type: ignore[attr-defined]
    assert "<script>alert(1)" not in home
    assert "<img src=x" not in home
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in home


def test_viewer_role_sees_no_edit_controls_and_cannot_review(
    sign_in: Callable[[Account], Browser],
    make_account: Callable[..., Account],
    analysed: dict,
) -> None:
    viewer = make_account("vera")
    analysed["proto"].add_member(viewer, "viewer")
    browser = sign_in(viewer)
    images = browser.page("/projects/{p}/images".format(**analysed))
    assert "dropzone" not in images
    image = browser.page("/images/{i}".format(**analysed))
    assert "review-form" not in image
    assert "Confirm</button>" not in image
    assert "missing-form" not in image
    jobs = browser.page("/projects/{p}/jobs".format(**analysed))
    assert "Start a job" not in jobs
    job = browser.page("/jobs/{j}".format(**analysed))
    assert "Cancel job" not in job
    members = browser.page("/projects/{p}/members".format(**analysed))
    assert "Add someone" not in members
    annotation = re.search(r'data-id="(\d+)"', image)
    assert annotation
    refused = browser.post(
        "/images/{i}/review".format(**analysed),
        {"annotation": annotation.group(1), "verdict": "confirm"},
    )
    assert refused.status_code == 403  # type: ignore[attr-defined]


def test_review_is_kept_beside_the_machine_annotation(
    sign_in: Callable[[Account], Browser], owner: Account, analysed: dict, client: AppClient
) -> None:
    browser = sign_in(owner)
    image_path = "/images/{i}".format(**analysed)
    page = browser.page(image_path)
    annotation = int(re.search(r'class="annotation" data-id="(\d+)"', page).group(1))  # type: ignore[union-attr]
    before = client.get(f"/api/v2{image_path}", headers=owner.headers).json()
    answer = browser.post(
        f"{image_path}/review",
        {"annotation": annotation, "verdict": Verdict.RELABEL.value, "label": "beetle"},
        csrf_from=image_path,
    )
    assert answer.status_code == 303  # type: ignore[attr-defined]
    after_page = browser.page(image_path)
    assert "relabel: beetle by olive@example.org" in after_page
    after = client.get(f"/api/v2{image_path}", headers=owner.headers).json()
    assert after["analyses"] == before["analyses"]  # the machine's answer is untouched
    queue = browser.page("/projects/{p}/review".format(**analysed))
    assert f"#a{annotation}" not in queue  # reviewed: out of the queue


def test_review_queue_starts_with_what_counts_and_ends_with_the_specks(
    sign_in: Callable[[Account], Browser],
    client: AppClient,
    owner: Account,
    project_id: int,
    jpeg: Callable[..., bytes],
) -> None:
    proto = Protocol(client, owner, project_id, jpeg)
    assert proto.register(pipeline_config(default_threshold=0.5)).status_code == 201
    proto.images(5)
    job = proto.job_that_runs()
    tasks = proto.claim(job["id"], 10)
    # One box a photo, its classification's score as sure as the models are.
    sure = [0.3, 0.9, 0.2, 0.6, 0.75]
    proto.post(
        job["id"],
        *[
            success(t, detection(t, scores=[top, (1 - top) / 2, (1 - top) / 2]))
            for t, top in zip(tasks, sure, strict=True)
        ],
    )
    proto.wait(job["id"], {"succeeded"})
    browser = sign_in(owner)
    for path in (
        f"/projects/{project_id}/review",
        f"/projects/{project_id}/review?job={job['id']}",
    ):
        queue = browser.page(path)
        rows = re.findall(r'<tr( class="under-threshold")?>\s*<td><img class="crop"', queue)
        confidences = [float(c) for c in re.findall(r'<td class="num">(\d\.\d\d)', queue)]
        assert confidences == [0.9, 0.75, 0.6, 0.3, 0.2], path
        assert [bool(marked) for marked in rows] == [False] * 3 + [True] * 2, path
    # The viewer's walk through the queue starts with the surest that counts.
    listed = re.findall(r"#a(\d+)", browser.page(f"/projects/{project_id}/review"))
    first = browser.client.get(f"/projects/{project_id}/review/next", follow_redirects=False)
    assert first.headers["location"].rsplit("#a", 1)[1] == listed[0]


def test_viewer_boxes_are_in_image_pixels(
    sign_in: Callable[[Account], Browser], owner: Account, analysed: dict
) -> None:
    page = sign_in(owner).page("/images/{i}".format(**analysed))
    assert 'viewBox="0 0 160 120"' in page
    assert 'x="10.0" y="12.0" width="50.0" height="58.0"' in page


def test_job_progress_json_and_cancel(
    sign_in: Callable[[Account], Browser], owner: Account, analysed: dict
) -> None:
    browser = sign_in(owner)
    proto = analysed["proto"]
    proto.images(1)
    job = proto.job_that_runs()
    progress = browser.client.get(f"/jobs/{job['id']}/progress").json()
    assert progress["final"] is False
    assert progress["total"] == 1  # the two analysed images are skipped
    cancel = browser.post(f"/jobs/{job['id']}/cancel", {})
    assert cancel.status_code == 303  # type: ignore[attr-defined]
    assert browser.client.get(f"/jobs/{job['id']}/progress").json()["status"] == "canceled"


def test_admin_pages_are_for_admins(
    sign_in: Callable[[Account], Browser], owner: Account, admin: Account
) -> None:
    assert sign_in(owner).client.get("/admin/users").status_code == 403
    browser = sign_in(admin)
    made = browser.post(
        "/admin/users", {"email": "new@example.org", "name": "New"}, csrf_from="/admin/users"
    )
    assert made.status_code == 200  # type: ignore[attr-defined]
    assert 'id="new-password"' in made.text  # type: ignore[attr-defined]
    users = browser.page("/admin/users")
    assert "new@example.org" in users
    assert 'id="new-password"' not in users  # shown once


def test_the_new_person_form_places_each_error_beside_its_field(
    sign_in: Callable[[Account], Browser], admin: Account
) -> None:
    browser = sign_in(admin)
    cases = [
        ({"email": "ann.example.org", "name": "Ann"}, "email", "email: an address like"),
        ({"email": "ann@example.org", "name": "A" * 201}, "name", "name: at most 200"),
        ({"email": admin.email, "name": "Twin"}, "email", admin.email),
    ]
    for values, field, words in cases:
        answer = browser.post("/admin/users", values, csrf_from="/admin/users")
        assert answer.status_code in (400, 409), answer.text[:500]  # type: ignore[attr-defined]
        text = answer.text  # type: ignore[attr-defined]
        shown = rf'<p class="error" id="{field}-error" role="alert">(.*?)</p>'
        found = re.search(shown, text, re.S)
        assert found, (field, text[:2000])
        assert words in html.unescape(found.group(1)), (field, found.group(1))


def test_signing_out_ends_the_session(
    sign_in: Callable[[Account], Browser], owner: Account
) -> None:
    browser = sign_in(owner)
    secret = browser.client.cookies.get("trapline_session")
    assert browser.post("/signout", {}).status_code == 303  # type: ignore[attr-defined]
    browser.client.cookies.set("trapline_session", secret or "")
    assert browser.client.get("/projects", follow_redirects=False).status_code == 303


def test_review_queue_walks_detections_one_after_another(
    sign_in: Callable[[Account], Browser], owner: Account, analysed: dict
) -> None:
    browser = sign_in(owner)
    seen = []
    path = "/projects/{p}/review/next".format(**analysed)
    for _ in range(3):
        hop = browser.client.get(path, follow_redirects=False)
        assert hop.status_code == 303
        target = hop.headers["location"]
        if "/images/" not in target:
            assert target == "/projects/{p}/review".format(**analysed)  # nothing left
            break
        image_path, _, anchor = target.partition("#a")
        seen.append(int(anchor))
        page = browser.page(image_path)
        assert 'id="queue-hint"' in page
        confirmed = browser.client.post(
            image_path.split("?")[0] + "/review",
            data={
                "csrf": csrf_of(page),
                "annotation": anchor,
                "verdict": "confirm",
                "queue": "project",
                "project": str(analysed["p"]),
            },
            follow_redirects=False,
        )
        assert confirmed.headers["location"] == path
    assert len(seen) == 2
    assert len(set(seen)) == 2


@pytest.mark.parametrize(
    "target", ["//evil.example/", "/\t/evil.example/", "https://evil.example/", "/\\evil", ""]
)
def test_sign_in_never_sends_people_to_another_site(target: str) -> None:
    from trapline.web.pages import safe_next

    assert safe_next(target) == "/"
    assert safe_next("/projects/3/images?deployment=2") == "/projects/3/images?deployment=2"


def test_the_viewer_shows_the_files_exif_tags(
    sign_in: Callable[[Account], Browser], client: AppClient, owner: Account, project_id: int
) -> None:
    taken = datetime(2024, 6, 21, 22, 5, 9)
    files = [
        ("tagged.jpg", light_trap_jpeg(1, width=320, height=240, captured_at=taken)),
        ("bare.jpg", light_trap_jpeg(2, width=320, height=240)),
    ]
    body = upload(client, owner, project_id, *files)
    tagged, bare = (r["id"] for r in body["results"])
    browser = sign_in(owner)
    assert f'href="/images/{tagged}/exif"' in browser.page(f"/images/{tagged}")
    page = browser.page(f"/images/{tagged}/exif")
    assert re.search(r"<td>DateTimeOriginal</td><td>2024:06:21 22:05:09</td>", page)
    assert "has no EXIF tags" in browser.page(f"/images/{bare}/exif")


def test_detections_under_the_pipelines_threshold_are_hidden_until_asked(
    sign_in: Callable[[Account], Browser], owner: Account, analysed: dict, client: AppClient
) -> None:
    image_path = "/images/{i}".format(**analysed)
    browser = sign_in(owner)
    before = browser.page(image_path)
    assert 'class="annotation below"' not in before  # the pipeline names no threshold
    assert 'id="toggle-below"' not in before
    # A later registration of the same version sets it: 0.7, over the box's 0.6.
    proto = analysed["proto"]
    assert proto.register(pipeline_config(default_threshold=0.7)).status_code == 201
    listed = client.get(
        "/api/v2/projects/{p}/pipelines/".format(**analysed), headers=owner.headers
    ).json()["results"]
    assert [p["default_threshold"] for p in listed] == [0.7]
    after = browser.page(image_path)
    assert 'class="annotation below"' in after
    assert re.search(r'<g class="det below"', after)
    assert (
        "Under their run&#39;s threshold (1)" in after or "Under their run's threshold (1)" in after
    )
    assert "Detections (0, and 1 under the threshold)" in after
    processing = browser.page("/projects/{p}/processing".format(**analysed))
    assert "<td>0.70</td>" in processing
    bad = proto.register(pipeline_config(default_threshold=1.5))
    assert bad.status_code == 400, bad.text
    assert "default_threshold" in bad.text


@pytest.mark.parametrize("annotation", ["", "abc", "0", "9" * 30])
def test_a_review_of_no_detection_is_refused_with_a_message(
    sign_in: Callable[[Account], Browser], owner: Account, analysed: dict, annotation: str
) -> None:
    browser = sign_in(owner)
    image_path = "/images/{i}".format(**analysed)
    answer = browser.post(
        f"{image_path}/review",
        {"annotation": annotation, "verdict": "confirm"},
        csrf_from=image_path,
    )
    assert answer.status_code == 400  # type: ignore[attr-defined]
    assert "pick a detection" in answer.text  # type: ignore[attr-defined]


def test_changing_ones_password_asks_for_the_current_one(
    sign_in: Callable[[Account], Browser], owner: Account, platform: Platform
) -> None:
    browser = sign_in(owner)
    new = "a brand new long password"
    wrong = browser.post(
        "/account/password",
        {"current_password": "not the password", "password": new},
        csrf_from="/account",
    )
    assert wrong.status_code == 400  # type: ignore[attr-defined]
    assert 'id="current_password-error"' in wrong.text  # type: ignore[attr-defined]
    browser.page("/account")  # still signed in: nothing changed
    changed = browser.post(
        "/account/password", {"current_password": PASSWORD, "password": new}, csrf_from="/account"
    )
    assert changed.status_code == 303  # type: ignore[attr-defined]
    with _signin_from(create_app(platform), "192.0.2.10") as elsewhere:
        assert _try(elsewhere, owner.email, PASSWORD).status_code == 400
        assert _try(elsewhere, owner.email, new).status_code == 303
