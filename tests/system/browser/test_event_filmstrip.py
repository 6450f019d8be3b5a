"""An event's filmstrip in Chromium at 1366x768, with the vendored heron burst and its
hand-checked boxes imported as MegaDetector results: the strip stays within the page, and each
photo's tracked box is drawn on the heron, where the image viewer draws it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.browser import BOXES, App, heron_event, sign_in

pytestmark = pytest.mark.slow

#: Pixels a drawn box may be off its place on the rendered photo (Chromium's box of an SVG
#: rectangle takes in half its 2 px stroke on each side).
TOLERANCE = 3.0


def test_the_filmstrip_fits_the_page_and_draws_each_box_on_the_heron(
    chromium: Any, app: App, request: Any
) -> None:
    _, event = heron_event(app, f"Filmstrip herons {request.node.callspec.id}")
    context = chromium.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        sign_in(page, app)
        page.goto(f"{app.url}/events/{event}")
        strip = page.locator("ol.filmstrip")
        frames = strip.locator("li")
        assert frames.count() == len(BOXES)
        widths = strip.evaluate(
            "s => [s.scrollWidth, s.clientWidth, s.getBoundingClientRect().right,"
            " document.documentElement.scrollWidth]"
        )
        scroll_width, client_width, right, page_width = widths
        assert scroll_width <= client_width, widths
        assert right <= 1366, widths
        assert page_width <= 1366, widths

        for n, name in enumerate(sorted(BOXES)):
            frame = frames.nth(n)
            image = frame.locator("img")
            assert image.get_attribute("alt") == name
            image.scroll_into_view_if_needed()
            image.evaluate(
                "i => i.complete ? i.decode() : new Promise(r => i.addEventListener('load', r))"
            )
            photo = image.bounding_box()
            drawn = frame.locator("svg.boxes rect").bounding_box()
            x1, y1, x2, y2 = BOXES[name]
            expected = {
                "x": photo["x"] + x1 * photo["width"],
                "y": photo["y"] + y1 * photo["height"],
                "width": (x2 - x1) * photo["width"],
                "height": (y2 - y1) * photo["height"],
            }
            for side, want in expected.items():
                assert abs(drawn[side] - want) <= TOLERANCE, (name, side, drawn, expected)
    finally:
        context.close()
