"""No two page routes match one path: the web app's routes are added in any order
(``web/routes/page_modules``), so none may shadow another."""

from __future__ import annotations

import importlib
import itertools
import re

from trapline.web.routes import page_modules


def test_the_page_modules_are_every_module_of_the_folder() -> None:
    names = page_modules()
    assert {"auth", "events", "identify", "projects", "species", "taxa"} <= set(names)


def test_no_page_route_matches_another_ones_path() -> None:
    routes = []
    for name in page_modules():
        router = importlib.import_module(f"trapline.web.routes.{name}").router
        routes += [(name, method, r) for r in router.routes for method in r.methods]
    assert len(routes) > 50, "the page routes were not found"
    shadowed = []
    for (first, method, a), (second, other, b) in itertools.permutations(routes, 2):
        if method != other or a.path == b.path:
            continue
        # The other's parameters filled with each word of this one's path, and a number: a
        # path both match is one of them shadows.
        words = {w for w in a.path.split("/") if w and "{" not in w} | {"123"}
        for word in words:
            path = re.sub(r"\{[^}]+\}", word, b.path)
            if b.path_regex.match(path) and a.path_regex.match(path):
                shadowed.append(f"{method} {path}: {a.path} ({first}), {b.path} ({second})")
    assert shadowed == []
