"""The job form's pipelines, each with what stands in the way of running it.

A job follows the API's rule (``services.jobs.add_job``): a pipeline no worker registered in
the project is refused; a registered one is taken, and its tasks wait for a worker. So a
camera trap's MegaDetector, offered before any worker serves it, says why it cannot run yet
(from ``pipelines/readiness.py``, the Processing page's states) and is refused; a registered
pipeline whose workers are all offline is taken with a warning.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from trapline.clock import Clock
from trapline.services.processing.job_offer import Offered

if TYPE_CHECKING:
    # The pipelines' side is imported only when a form needs it (numpy and the models' code).
    from trapline.pipelines.readiness import Readiness


@dataclass(frozen=True)
class Choice:
    """One pipeline of the job form."""

    slug: str
    label: str
    #: Why a job of it will not run now and what to do; empty when nothing stands in the way.
    note: str = ""
    #: A job of it is refused (no worker serves it in the project), not only delayed.
    refused: bool = False
    #: The version a job of it runs, where the form offers several of its pipeline (None: the
    #: only one offered, or a built-in no worker registered yet).
    version: int | None = None
    #: It is the newest version of its pipeline: chosen where the slug alone is.
    newest: bool = True
    #: It classifies boxes it is given, so a job may run it over another pipeline's boxes.
    classifies_boxes: bool = False
    #: Its default threshold, which a job may set its own in place of (None: it declares none).
    threshold: float | None = None

    @property
    def value(self) -> str:
        """What the form posts: ``slug@version``, or the slug of an unregistered built-in."""
        return self.slug if self.version is None else f"{self.slug}@{self.version}"


def chosen_pipeline(value: str) -> tuple[str, int | None]:
    """The slug and version a job form posted (``Choice.value``)."""
    slug, at, version = value.partition("@")
    if at and version.isdigit() and len(version) <= 10:
        return slug, int(version)
    return value, None


def chosen_choice(choices: list[Choice], value: str) -> Choice | None:
    """The choice a posted (or preselected) value names: ``slug@version``, or a slug alone
    for its newest version."""
    return next((c for c in choices if c.value == value or (c.slug == value and c.newest)), None)


def job_choices(offered: Offered, weights_folder: Path, clock: Clock) -> list[Choice]:
    """The registered pipelines, then the unregistered built-ins the project is offered."""
    newest: dict[str, int] = {}
    versions: Counter[str] = Counter()
    for p in offered.pipelines:
        newest[p.pipeline.slug] = max(newest.get(p.pipeline.slug, 0), p.pipeline.version)
        versions[p.pipeline.slug] += 1
    choices = [
        Choice(
            p.pipeline.slug,
            f"{p.pipeline.name} ({p.pipeline.slug} v{p.pipeline.version})",
            ""
            if any(s.online for s in p.services)
            else "no worker that serves it is online now: a job of it waits until one is",
            version=p.pipeline.version if versions[p.pipeline.slug] > 1 else None,
            newest=p.pipeline.version == newest[p.pipeline.slug],
            classifies_boxes=p.pipeline.classifies_boxes,
            threshold=p.pipeline.default_threshold,
        )
        for p in offered.pipelines
    ]
    if offered.unregistered:
        from trapline.pipelines.registry import builtin_readiness

        states = {r.slug: r for r in builtin_readiness(weights_folder, clock.now())}
        for slug in offered.unregistered:
            state = states[slug]
            choices.append(Choice(slug, f"{state.name} — not ready", _why(state), refused=True))
    return choices


def _why(state: Readiness) -> str:
    """Why an unregistered built-in cannot run yet, from its state on this server."""
    from trapline.pipelines.readiness import State

    start = f"trapline worker --pipeline {state.slug}"
    if state.state is State.NEEDS_EXTRA:
        return (
            f"{state.name} needs the [onnx] extra: install it where the worker runs "
            "(pip install 'trapline[onnx]') and restart the worker"
        )
    if state.state is State.NEEDS_WEIGHTS:
        return (
            f"{state.name} needs its weights: a worker with internet fetches them when started "
            f"with {start}; offline, download them and put them in {state.folder}"
        )
    if state.state in (State.DOWNLOADING, State.CONVERTING):
        return f"{state.name} is {state.state.value}: {state.how}; no worker serves it yet"
    return (
        f"{state.name} has its weights, but no worker serves it in this project yet: restart "
        f"trapline up, or start {start}"
    )
