"""Pipelines, their algorithms, and the processing services that run them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import NamedTuple

from trapline.domain.core.event_rules import ProjectKind

#: A service is online when one of its workers (or the service itself) was seen this recently.
ONLINE_WINDOW = timedelta(seconds=60)
#: Pipelines for tests and trials (a fixed box, random boxes): the API takes them, the web
#: app offers them only when ``TRAPLINE_SHOW_TEST_PIPELINES`` is on. Their slugs were
#: once Antenna's test pipelines' ("constant", "random"), which projects may still hold.
TEST_PIPELINES = frozenset({"trapline-constant", "trapline-random", "constant", "random"})
#: The processing service import pipelines are registered under, in each project: it holds
#: results made elsewhere, and nothing runs its pipelines (no job is offered or taken for one
#: it alone offers).
IMPORT_SERVICE = "megadetector-import"
#: The processing service promoted refits are registered under, in each project: the platform
#: runs their jobs itself (``DispatchMode.INTERNAL``), and nothing else may.
REFIT_SERVICE = "trapline-refits"
#: The built-in pipelines that find real things, in the order a project of each kind is
#: offered them when it has run none yet: a camera trap's MegaDetector first, a light trap's
#: (or any other project's) moth-blobs.
BUILT_IN_PIPELINES = ("moth-blobs", "megadetector")
CAMERA_TRAP_PIPELINES = ("megadetector", "moth-blobs")
#: Built-in pipelines a camera-trap project's job form offers even when no worker registered
#: them in the project (the form says why they cannot run yet and how to make them ready).
CAMERA_TRAP_ALWAYS_OFFERED = ("megadetector",)


def first_pipelines(kind: ProjectKind) -> tuple[str, ...]:
    """The built-in real pipelines in the order a project of ``kind`` prefers them."""
    return CAMERA_TRAP_PIPELINES if kind is ProjectKind.CAMERA_TRAP else BUILT_IN_PIPELINES


def always_offered(kind: ProjectKind) -> tuple[str, ...]:
    """Built-in pipelines a project of ``kind`` is offered, registered in it or not."""
    return CAMERA_TRAP_ALWAYS_OFFERED if kind is ProjectKind.CAMERA_TRAP else ()


def preselected(
    offered: Sequence[str], last_used: str | None, kind: ProjectKind = ProjectKind.OTHER
) -> str | None:
    """The pipeline a job form starts on: the project's last one, else the built-in real one
    its kind prefers, else the first offered."""
    if last_used in offered:
        return last_used
    return next((slug for slug in first_pipelines(kind) if slug in offered), None) or next(
        iter(offered), None
    )


@dataclass(frozen=True)
class Algorithm:
    """One registered model or step; ``labels`` is its category map in model-output order."""

    id: int
    key: str
    version: int
    name: str
    task_type: str | None
    labels: tuple[str, ...] | None
    uri: str | None = None
    weights_sha256: str | None = None

    @cached_property
    def label_set(self) -> frozenset[str]:
        """The labels as a set, for membership checks."""
        return frozenset(self.labels or ())


@dataclass(frozen=True)
class Pipeline:
    """One version of a pipeline."""

    id: int
    slug: str
    version: int
    name: str
    description: str | None
    algorithms: tuple[Algorithm, ...] = ()
    #: Confidence under which its detections are not counted as finds (None: no such
    #: threshold). Registrations may change it; a cached copy may hold an older value.
    default_threshold: float | None = None
    #: Whether it classifies boxes it is given, so a job may run it over another pipeline's.
    classifies_boxes: bool = False

    def algorithm(self, key: str) -> Algorithm | None:
        """The pipeline's algorithm with this key."""
        return self._by_key.get(key)

    @cached_property
    def _by_key(self) -> dict[str, Algorithm]:
        return {a.key: a for a in self.algorithms}


@dataclass(frozen=True)
class ServiceStatus:
    """A processing service as a project sees it."""

    id: int
    name: str
    endpoint_url: str | None
    last_seen_at: datetime | None
    online: bool
    #: Push mode: when the platform last checked the service, and why that check failed.
    last_checked_at: datetime | None = None
    last_error: str | None = None
    #: Push mode: an admin registered it, so the platform calls it at any address.
    trusted: bool = False


def push_service_online(
    last_seen_at: datetime | None, last_error: str | None, now: datetime, window: timedelta
) -> bool:
    """Whether a push-mode service is online: its last check succeeded, recently enough."""
    return last_error is None and last_seen_at is not None and now - last_seen_at <= window


@dataclass(frozen=True)
class ProjectPipeline:
    """A pipeline version available in a project."""

    pipeline: Pipeline
    enabled: bool
    services: tuple[ServiceStatus, ...] = field(default=())


@dataclass(frozen=True)
class Registration:
    """What registering a service's pipelines created, and the pipelines it refused."""

    service_id: int
    pipelines_created: list[str]
    pipelines_updated: list[str]
    algorithms_created: list[str]
    #: (slug, version, why) of each pipeline that conflicts with what the project has: the
    #: others were registered all the same.
    pipelines_refused: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def refused_whole(self) -> bool:
        """Every pipeline offered was refused: the service is recorded, offering nothing."""
        return bool(self.pipelines_refused) and not self.registered

    #: Pipeline versions it offers now (``pipelines_created`` and ``_updated`` and those it
    #: offered already).
    registered: int = 0


@dataclass(frozen=True)
class Offered:
    """What the pull-mode services one account's token registered offer."""

    #: The projects it registered a service in, whatever was refused there.
    projects: frozenset[int]
    #: The versions of each pipeline its services offer, by project and slug.
    versions: dict[tuple[int, str], frozenset[int]]

    def serves(self, project_id: int, slug: str, version: int) -> bool:
        """Whether its workers serve a pipeline version of a project: where the token
        registered, only the versions it registered (none of a pipeline refused there);
        where it never did, any (the pipelines came from another token's registration)."""
        if project_id not in self.projects:
            return True
        return version in self.versions.get((project_id, slug), frozenset())


@dataclass(frozen=True)
class WorkerInfo:
    """A worker process seen by the platform."""

    id: int
    identity: str
    hostname: str | None
    software: str | None
    version: str | None
    pid: int | None
    pipelines: list[str]
    last_seen_at: datetime


class PipelineFacts(NamedTuple):
    """A pipeline version results name."""

    id: int
    slug: str
    version: int
    name: str
    #: The score from which its boxes count (None: every box counts).
    threshold: float | None = None
