"""Each capability's use cases reach only the views of the repositories their capability may
use (decision 076): ``repos.<view>`` in ``services/<capability>/`` names that capability or
one below it, in the order the import contracts give the capabilities (pyproject.toml,
``tool.importlinter``). Background runners are held to the capability whose runs they tend;
routes and pages reach no repositories at all, they call services.

The import contracts cannot see this: a service imports ``Repos`` from the container, never the
view, so only the attribute it reads says which capability's records it touches.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

import pytest

from trapline.db.repositories import Repos

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "trapline"

#: The capability each background runner that reaches a view tends.
BACKGROUND = {
    "capture_times.py": "photos",
    "classifiers.py": "review",
    "detection_scorers.py": "review",
    "duties.py": "core",
    "events.py": "ecology",
    "exports.py": "exports",
    "groupings.py": "review",
    "push.py": "processing",
    "refit_jobs.py": "review",
    "sources.py": "sources",
}

#: Floors above the services that call services and reach no repositories themselves.
NO_VIEWS = ("web", "api", "http", "schemas", "cli", "app.py", "platform.py")

#: Reaches across the order that were there when the views came (decision 076): each is to be
#: moved (the query to the capability that may ask it, or the use case up to one that may),
#: never added to. An entry that no longer occurs fails too, so the list only shrinks.
KNOWN = {
    ("services/taxa/taxa.py", "ecology"),
}

REACH = re.compile(r"\b\w*repos\.(\w+)\b")


def capability_order() -> list[str]:
    """The capabilities from the top one down, as the import contracts list them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for contract in config["tool"]["importlinter"]["contracts"]:
        if "trapline.services" in contract.get("containers", ()):
            return [layer.strip("()") for layer in contract["layers"]]
    raise AssertionError("pyproject.toml has no contract ordering the services' capabilities")


ORDER = capability_order()
#: What each capability may use: itself and every capability below it.
MAY_USE = {cap: frozenset(ORDER[i:]) for i, cap in enumerate(ORDER)}
VIEWS = frozenset(
    name for name, member in vars(Repos).items() if isinstance(member, cached_property)
)


def reaches(path: Path) -> Iterator[tuple[int, str]]:
    """(line, view) for each view of ``Repos`` the module reaches."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        for found in REACH.finditer(line):
            if found[1] in VIEWS:
                yield number, found[1]


def allowed(relative: Path) -> frozenset[str] | None:
    """The views a module may reach (None: not held to any)."""
    top = relative.parts[0]
    if top in NO_VIEWS:
        return frozenset()
    if top == "services":
        return MAY_USE[relative.parts[1]] if len(relative.parts) > 2 else frozenset()
    if top == "background":
        return MAY_USE[BACKGROUND[relative.name]] if relative.name in BACKGROUND else frozenset()
    return None


def crossings() -> tuple[list[str], set[tuple[str, str]]]:
    """The reaches the order does not allow: those not known, and the known ones seen."""
    new: list[str] = []
    seen: set[tuple[str, str]] = set()
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        may = allowed(relative)
        if may is None:
            continue
        for number, view in reaches(path):
            if view in may:
                continue
            if (str(relative), view) in KNOWN:
                seen.add((str(relative), view))
            else:
                new.append(f"{relative}:{number} reaches repos.{view}")
    return new, seen


def test_the_views_are_the_capabilities_the_contracts_order() -> None:
    assert set(ORDER) == VIEWS
    assert set(BACKGROUND.values()) <= VIEWS


def test_each_module_reaches_only_the_views_its_capability_may_use() -> None:
    new, _ = crossings()
    assert not new, (
        "these reach repositories of a capability above their own (or, in a route or a"
        " background runner not in BACKGROUND, any): move the query to a capability they may"
        " use, or the use case up to one that may use it:\n" + "\n".join(new)
    )


def test_each_known_crossing_is_still_there() -> None:
    _, seen = crossings()
    gone = sorted(KNOWN - seen)
    assert not gone, f"no longer crossing, remove from KNOWN: {gone}"


@pytest.mark.parametrize(
    ("relative", "view", "ok"),
    [
        ("services/review/reviews.py", "ecology", True),
        ("services/review/reviews.py", "sources", False),
        ("services/core/users.py", "pipelines", False),
        ("background/exports.py", "ecology", True),
        ("web/routes/projects.py", "core", False),
    ],
)
def test_the_order_is_read_as_meant(relative: str, view: str, ok: bool) -> None:
    may = allowed(Path(relative))
    assert may is not None
    assert (view in may) is ok
