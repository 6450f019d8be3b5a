"""The review pages in Chromium against a real ``trapline up --demo``: the viewer's review panel
and detection list, the review queue's crops and the grid's counts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import App, sign_in

pytestmark = pytest.mark.slow

#: Viewports people use: a laptop, a desktop, and a narrow window (one column).
VIEWPORTS = [(1280, 800), (1920, 1080), (800, 900)]

#: For each row of the detection list on screen, the part of it one can see (clipped by the
#: boxes it scrolls in and by the window), whether it meets the review panel, and what a click
#: at its middle would land on.
_ROWS_ON_SCREEN = """() => {
  const panel = document.getElementById("review-form").getBoundingClientRect();
  const rows = [];
  for (const row of document.querySelectorAll(".annotation")) {
    if (!row.checkVisibility()) continue;
    const r = row.getBoundingClientRect();
    let [top, bottom, left, right] = [r.top, r.bottom, r.left, r.right];
    for (let box = row.parentElement; box && box !== document.body; box = box.parentElement) {
      if (getComputedStyle(box).overflowY === "visible") continue;
      const c = box.getBoundingClientRect();
      top = Math.max(top, c.top); bottom = Math.min(bottom, c.bottom);
      left = Math.max(left, c.left); right = Math.min(right, c.right);
    }
    top = Math.max(top, 0); bottom = Math.min(bottom, innerHeight);
    left = Math.max(left, 0); right = Math.min(right, innerWidth);
    if (bottom - top < 2 || right - left < 2) continue;
    const across = Math.min(right, panel.right) - Math.max(left, panel.left);
    const down = Math.min(bottom, panel.bottom) - Math.max(top, panel.top);
    const hit = document.elementFromPoint((left + right) / 2, (top + bottom) / 2);
    rows.push({
      id: row.dataset.id,
      overlap: across > 0 && down > 0 ? across * down : 0,
      clickable: row.contains(hit),
    });
  }
  return rows;
}"""


def _busiest_image(app: App) -> tuple[int, dict[int, list[float]]]:
    """The demo image with the most boxes: its id and its boxes by annotation id."""
    images = app.api("GET", f"/projects/{app.demo_project}/images/?limit=100").json()["results"]
    best: tuple[int, dict[int, list[float]]] | None = None
    for image in images:
        detail = app.api("GET", f"/images/{image['id']}/").json()
        boxes = {
            a["id"]: list(a["bbox"].values())
            for analysis in detail["analyses"]
            for a in analysis["annotations"]
            if a["type"] == "bounding_box"
        }
        if best is None or len(boxes) > len(best[1]):
            best = (image["id"], boxes)
    assert best is not None
    assert best[1], "the demo job found nothing"
    return best


@contextmanager
def _window(chromium: Any, app: App, width: int, height: int) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        sign_in(page, app)
        yield page
    finally:
        context.close()


def _reviews(app: App, image_id: int) -> list[tuple[int, str, str | None]]:
    found = app.api("GET", f"/images/{image_id}/reviews/").json()["results"]
    return [(r["annotation_id"], r["verdict"], r["label"]) for r in found]


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_the_review_panel_never_covers_the_detection_list(
    chromium: Any, app: App, width: int, height: int
) -> None:
    image_id, _ = _busiest_image(app)
    with _window(chromium, app, width, height) as page:
        page.goto(f"{app.url}/images/{image_id}")
        bottom = page.evaluate("document.documentElement.scrollHeight - innerHeight")
        seen = 0
        for scrolled in sorted({0, bottom // 4, bottom // 2, 3 * bottom // 4, bottom}):
            for list_at in ("0", "list.scrollHeight / 2"):
                page.evaluate(
                    f"""() => {{ scrollTo(0, {scrolled});
                    const list = document.querySelector(".annotations");
                    list.scrollTop = {list_at}; }}"""
                )
                rows = page.evaluate(_ROWS_ON_SCREEN)
                seen += len(rows)
                where = f"{width}x{height}, page at {scrolled}, list at {list_at}"
                assert [r["id"] for r in rows if r["overlap"]] == [], where
                assert [r["id"] for r in rows if not r["clickable"]] == [], where
        assert seen, "no row of the list was ever on screen"


def test_clicking_a_row_picks_that_detection_for_the_review(chromium: Any, app: App) -> None:
    image_id, _ = _busiest_image(app)
    with _window(chromium, app, 1280, 800) as page:
        page.goto(f"{app.url}/images/{image_id}")
        rows = page.locator(".annotation:not(.below)")
        first, second, third = (rows.nth(n).get_attribute("data-id") for n in range(3))
        expect(page.locator("#r-annotation")).to_have_value(first)
        before = _reviews(app, image_id)
        # A click anywhere on the second row (here its line of top labels) picks it.
        page.click(f"#a{second} .topk")
        expect(page.locator("#r-annotation")).to_have_value(second)
        expect(page.locator(f".det[data-id='{second}']")).to_have_class(re.compile(r"\bpicked\b"))
        assert page.inner_text("#r-label") == page.get_attribute(f"#a{second}", "data-caption")
        panel = page.eval_on_selector("#review-form", "e => e.getBoundingClientRect().toJSON()")
        assert panel["top"] >= 0  # the panel stayed in sight
        assert panel["bottom"] <= 800
        page.fill("#r-relabel", "Geometridae")
        page.click("#review-form button[value='relabel']")
        page.wait_for_selector(f"#a{second} .reviewed-by")
        assert _reviews(app, image_id)[len(before) :] == [(int(second), "relabel", "Geometridae")]
        # The keyboard: Tab to the third row's link and Enter picks it; Enter in the label
        # field relabels it (not a confirm, which the form's first button would be).
        page.focus(f"#a{third} a.pick")
        page.keyboard.press("Enter")
        expect(page.locator("#r-annotation")).to_have_value(third)
        page.fill("#r-relabel", "Erebidae")
        page.press("#r-relabel", "Enter")
        page.wait_for_selector(f"#a{third} .reviewed-by")
        assert _reviews(app, image_id)[len(before) :] == [
            (int(second), "relabel", "Geometridae"),
            (int(third), "relabel", "Erebidae"),
        ]


def test_the_queue_shows_the_crops_of_the_boxes(page: Any, app: App) -> None:
    boxes: dict[int, list[float]] = {}
    images = app.api("GET", f"/projects/{app.demo_project}/images/?limit=100").json()["results"]
    sizes = {image["id"]: (image["width"], image["height"]) for image in images}
    owner: dict[int, int] = {}
    for image in images:
        for analysis in app.api("GET", f"/images/{image['id']}/").json()["analyses"]:
            for a in analysis["annotations"]:
                if a["type"] == "bounding_box":
                    boxes[a["id"]] = list(a["bbox"].values())
                    owner[a["id"]] = image["id"]
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{app.demo_project}/review")
    crops = page.locator("#queue img")
    assert crops.count() > 5
    for n in range(6):
        crop = crops.nth(n)
        crop.scroll_into_view_if_needed()
        src = crop.get_attribute("src")
        annotation = int(src.split("/")[2])
        page.wait_for_function("e => e.complete && e.naturalWidth > 0", arg=crop.element_handle())
        natural = crop.evaluate("e => [e.naturalWidth, e.naturalHeight]")
        x1, y1, x2, y2 = boxes[annotation]
        assert natural[0] == pytest.approx(x2 - x1, abs=2), (annotation, natural, x1, x2)
        assert natural[1] == pytest.approx(y2 - y1, abs=2), (annotation, natural, y1, y2)
        assert tuple(natural) != sizes[owner[annotation]]


def test_grid_tiles_show_detection_and_review_counts(page: Any, app: App) -> None:
    thresholds = {
        (p["slug"], p["version"]): p["default_threshold"]
        for p in app.api("GET", f"/projects/{app.demo_project}/pipelines/").json()["results"]
    }
    images = app.api("GET", f"/projects/{app.demo_project}/images/?limit=100").json()["results"]
    # One review of the demo's first box, so some tile counts a reviewed detection.
    first = app.api("GET", f"/images/{images[0]['id']}/").json()["analyses"][0]["annotations"][0]
    made = app.api("POST", f"/annotations/{first['id']}/reviews/", json={"verdict": "confirm"})
    assert made.status_code == 201, made.text
    expected: dict[str, tuple[str, str]] = {}
    for image in images:
        detail = app.api("GET", f"/images/{image['id']}/").json()
        shown = set()
        for analysis in detail["analyses"]:
            threshold = thresholds[(analysis["pipeline_slug"], analysis["pipeline_version"])]
            kids: dict[int, float] = {}
            for a in analysis["annotations"]:
                if a["parent_id"] is not None and a["confidence"] is not None:
                    kids[a["parent_id"]] = max(kids.get(a["parent_id"], 0.0), a["confidence"])
            for a in analysis["annotations"]:
                score = a["confidence"] if a["confidence"] is not None else kids.get(a["id"])
                if a["type"] == "bounding_box" and (
                    threshold is None or score is None or score >= threshold
                ):
                    shown.add(a["id"])
        reviewed = {r[0] for r in _reviews(app, image["id"])} & shown
        expected[f"/images/{image['id']}"] = (str(len(shown)), str(len(reviewed)))
    assert any(reviewed != "0" for _, reviewed in expected.values())
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{app.demo_project}/images")
    tiles = page.eval_on_selector_all(
        ".grid a",
        """links => links.map(a => {
          const counts = a.querySelector(".counts");
          return [a.getAttribute("href"), counts.dataset.detections, counts.dataset.reviewed,
                  counts.innerText];
        })""",
    )
    assert {href: (d, r) for href, d, r, _ in tiles} == expected
    for href, detections, reviewed, text in tiles:
        assert text.startswith(f"{detections} detection"), (href, text)
        assert detections == "0" or f"· {reviewed} reviewed" in text, (href, text)
        # What made the counted result, with its version.
        assert re.search(r"· [a-z0-9-]+ v\d+$", text), (href, text)


def test_images_ticked_on_the_grid_move_into_another_deployment(page: Any, app: App) -> None:
    made = app.api(
        "POST",
        f"/projects/{app.demo_project}/deployments/",
        json={"name": "Trap in Tokyo", "time_zone": "Asia/Tokyo"},
    )
    assert made.status_code == 201, made.text
    tokyo = made.json()["id"]
    images = app.api("GET", f"/projects/{app.demo_project}/images/?limit=100").json()["results"]
    home = images[0]["deployment_id"]
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{app.demo_project}/images")
    ticked = [images[0], images[1]]
    for image in ticked:
        page.get_by_label(f"Tick {image['filename']}").check()
    page.select_option("#move-deployment", label="Trap in Tokyo")
    page.get_by_role("button", name="Move").click()
    page.wait_for_url(re.compile(rf"/projects/{app.demo_project}/images$"))
    try:
        moved = [app.api("GET", f"/images/{i['id']}/").json() for i in ticked]
        assert {m["deployment_id"] for m in moved} == {tokyo}
        # The photos carry no UTC offset: their times are read again in Tokyo's zone, and
        # both (twenty minutes apart: one night of the demo's light trap) are one event of the
        # new deployment.
        assert all(m["captured_at"].endswith("+09:00") for m in moved), moved
        events = [app.api("GET", f"/events/{m['event_id']}/").json() for m in moved]
        assert [(e["deployment_id"], e["image_count"]) for e in events] == [(tokyo, 2)] * 2
    finally:
        back = app.api(
            "POST",
            f"/projects/{app.demo_project}/images/move",
            json={"image_ids": [i["id"] for i in ticked], "deployment_id": home},
        )
        assert back.status_code == 200, back.text


#: Where the picked detection's box and the review panel are in the window: how much of each
#: one can see (0 to 1 of its height).
_IN_SIGHT = """() => {
  const seen = (r) => Math.max(0, Math.min(r.bottom, innerHeight) - Math.max(r.top, 0))
    / Math.max(r.height, 1);
  const box = document.querySelector(".det.picked rect");
  return {
    box: box ? seen(box.getBoundingClientRect()) : null,
    panel: seen(document.getElementById("review-form").getBoundingClientRect()),
  };
}"""


def test_keyboard_review_keeps_the_box_and_the_panel_in_sight(chromium: Any, app: App) -> None:
    """Walking the review queue with the keyboard at 1366 by 768 (``n`` skips to the next
    detection nobody reviewed, which changes nothing): on every step the picked box on the
    photo and the review panel are in the window, without a scroll by hand."""
    with _window(chromium, app, 1366, 768) as page:
        page.goto(f"{app.url}/projects/{app.demo_project}/review/next")
        page.wait_for_selector(".det.picked")
        seen = []
        for _ in range(6):
            page.wait_for_load_state("load")
            sight = page.evaluate(_IN_SIGHT)
            seen.append((page.url.rsplit("/", 1)[-1], sight))
            if "#a" not in page.url:
                break
            with page.expect_navigation():
                page.keyboard.press("n")
        stepped = [(where, sight) for where, sight in seen if "#a" in where]
        assert len(stepped) >= 3, seen
        assert all(s["box"] == 1 and s["panel"] == 1 for _, s in stepped), stepped
