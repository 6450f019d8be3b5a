"""Which pipelines a worker can run: built-ins, installed packages' and spec files'.

Three sources, each slug from exactly one of them:

- the built-ins below;
- entry points of the ``trapline.pipelines`` group, named by slug, each loading a ``Pipeline``
  subclass or a zero-argument factory that returns a ``Pipeline`` (or a ready instance);
- the pipelines of spec files given with ``--pipeline-file``.

Listing is cheap: an entry point is imported and a pipeline built only when it is asked for,
and no pipeline loads its models until ``Pipeline.load``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from trapline.errors import InvalidInput
from trapline.pipelines import megadetector
from trapline.pipelines.base import Pipeline
from trapline.pipelines.moth_blobs import MothBlobsPipeline
from trapline.pipelines.onnx_pipeline import OnnxPipeline
from trapline.pipelines.readiness import (
    ONNX_RUNTIME_MODULES,
    Readiness,
    State,
    extra_needed,
    missing_modules,
)
from trapline.pipelines.simple import ConstantPipeline, RandomPipeline
from trapline.pipelines.spec import PipelineSpec, load_spec_file

log = logging.getLogger(__name__)

#: Pipelines that come with trapline, by slug.
BUILTIN_PIPELINES: dict[str, Callable[[], Pipeline]] = {
    ConstantPipeline.slug: ConstantPipeline,
    RandomPipeline.slug: RandomPipeline,
    MothBlobsPipeline.slug: MothBlobsPipeline,
}
#: Entry-point group where installed packages offer pipelines; the entry point's name is the slug.
ENTRY_POINT_GROUP = "trapline.pipelines"


@dataclass(frozen=True)
class _Candidate:
    """A pipeline not built yet, and where it comes from (for error messages)."""

    origin: str
    build: Callable[[], Pipeline]
    #: Where it stands in this install; None: nothing to check.
    readiness: Callable[[], Readiness | None] = lambda: None
    #: Whether, not ready, it is left out of "every pipeline" (and fetches its weights itself
    #: when named) rather than refused.
    optional: bool = False


def available_pipelines(
    spec_files: Sequence[Path] = (), cache_dir: Path | None = None
) -> dict[str, Pipeline]:
    """Every pipeline this worker can run, by slug; none has loaded its models yet.

    Args:
        spec_files: YAML pipeline spec files to add pipelines from.
        cache_dir: where spec pipelines keep downloaded weights; default
            ``~/.cache/trapline/weights``.

    Raises:
        InvalidInput: a spec file is wrong or needs what is not installed, an installed
            pipeline cannot be loaded, or two sources offer the same slug.
    """
    return {p.slug: p for p in resolve_pipelines([], spec_files, cache_dir)}


def resolve_pipelines(
    slugs: Sequence[str], spec_files: Sequence[Path] = (), cache_dir: Path | None = None
) -> list[Pipeline]:
    """The pipelines named by ``slugs``, in that order; all available ones when it is empty.

    A pipeline that needs the ``[onnx]`` extra is refused here, before anything downloads;
    a built-in whose weights are not in place is left out unless named (then it fetches them
    when loaded).

    Raises:
        InvalidInput: a slug names no available pipeline (the message lists those there are),
            a pipeline cannot run in this install (the message says what to install), or as
            ``available_pipelines``.
    """
    candidates = _candidates(spec_files, cache_dir)
    if not slugs:
        return [_built(slug, c) for slug, c in candidates.items() if _served(slug, c, False)]
    unknown = [slug for slug in slugs if slug not in candidates]
    if unknown:
        names = ", ".join(repr(slug) for slug in unknown)
        raise InvalidInput(
            f"unknown pipeline {names}; available pipelines: {', '.join(sorted(candidates))} "
            "(add more with --pipeline-file or by installing a package that provides them)",
            code="unknown_pipeline",
        )
    return [
        _built(slug, candidates[slug])
        for slug in dict.fromkeys(slugs)
        if _served(slug, candidates[slug], True)
    ]


def _served(slug: str, candidate: _Candidate, named: bool) -> bool:
    """Whether to build the candidate; raises when it cannot run and must."""
    state = candidate.readiness()
    if state is None or state.ready:
        return True
    if candidate.optional and not named:
        log.info("pipeline %s is not served: %s", slug, state.how)
        return False
    if candidate.optional and state.state is not State.NEEDS_EXTRA:
        return True  # named: it fetches its weights when it loads
    raise InvalidInput(state.how, code="pipeline_not_ready")


def _onnx_readiness(spec: PipelineSpec) -> Readiness | None:
    missing = missing_modules(ONNX_RUNTIME_MODULES)
    return extra_needed(spec.slug, spec.name, missing) if missing else None


def _candidates(spec_files: Sequence[Path], cache_dir: Path | None) -> dict[str, _Candidate]:
    candidates: dict[str, _Candidate] = {}

    def offer(slug: str, candidate: _Candidate) -> None:
        if slug in candidates:
            raise InvalidInput(
                f"pipeline slug {slug!r} is offered twice: by {candidates[slug].origin} and by "
                f"{candidate.origin}; give one of them another slug"
            )
        candidates[slug] = candidate

    for slug, factory in BUILTIN_PIPELINES.items():
        offer(slug, _Candidate("trapline (built in)", factory))
    offer(
        megadetector.SLUG,
        _Candidate(
            "trapline (built in)",
            partial(megadetector.MegaDetectorPipeline, cache_dir),
            partial(megadetector.readiness, cache_dir),
            optional=True,
        ),
    )
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        offer(
            entry_point.name,
            _Candidate(_origin(entry_point), partial(_from_entry_point, entry_point)),
        )
    for path in spec_files:
        for spec in load_spec_file(path):
            offer(
                spec.slug,
                _Candidate(
                    f"pipeline file {path}",
                    partial(OnnxPipeline, spec, cache_dir),
                    partial(_onnx_readiness, spec),
                ),
            )
    return candidates


def _built(slug: str, candidate: _Candidate) -> Pipeline:
    pipeline = candidate.build()
    if pipeline.slug != slug:
        raise InvalidInput(
            f"{candidate.origin} is registered as {slug!r} but its pipeline's slug is "
            f"{pipeline.slug!r}; the two must match"
        )
    return pipeline


def _from_entry_point(entry_point: EntryPoint) -> Pipeline:
    origin = _origin(entry_point)
    try:
        target = entry_point.load()
        pipeline = target if isinstance(target, Pipeline) else target()
    except Exception as exc:
        # Third-party code can fail in any way; say which package failed and how.
        raise InvalidInput(f"{origin} could not be loaded: {type(exc).__name__}: {exc}") from exc
    if not isinstance(pipeline, Pipeline):
        raise InvalidInput(
            f"{origin} gave a {type(pipeline).__name__}, not a trapline Pipeline; it must name "
            "a Pipeline subclass or a function that returns a Pipeline"
        )
    return pipeline


def _origin(entry_point: EntryPoint) -> str:
    package = f" of package {entry_point.dist.name}" if entry_point.dist is not None else ""
    return f"entry point {entry_point.name} = {entry_point.value}{package}"


def builtin_readiness(
    cache_dir: Path | None = None, now: datetime | None = None
) -> list[Readiness]:
    """Every built-in pipeline's state in this install (weights in ``cache_dir``, default the
    worker's weights folder), in the registry's order."""
    simple = [
        Readiness(slug, factory().config.name, State.READY)
        for slug, factory in BUILTIN_PIPELINES.items()
    ]
    return [*simple, megadetector.readiness(cache_dir, now=now)]
