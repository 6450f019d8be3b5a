"""Comparing two pipelines, or two versions of one, on a deployment (``domain/ecology/
compare.py``): the boxes each drew on the photos both ran on, and the individuals each counts
there, so that a person can choose what the deployment counts by from what they see."""

from __future__ import annotations

import re
from dataclasses import dataclass

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.domain.core.records import Deployment, User
from trapline.domain.core.roles import Role
from trapline.domain.ecology.compare import Comparison, Side, compare
from trapline.domain.ecology.species import Scope
from trapline.errors import InvalidInput
from trapline.services.core.access import project_for, require
from trapline.services.ecology.counting import check_pipeline, project_pipelines

#: Photos compared per request, at most (the first by id that both ran on), and per read.
MAX_PHOTOS = 5_000
_BATCH = 500
#: A side as written: a pipeline's slug, with ``@N`` for one version of it.
_SIDE = re.compile(r"^(?P<slug>[^@\s][^@]{0,254})(?:@(?P<version>[0-9]{1,9}))?$")


@dataclass(frozen=True)
class Compared:
    """A comparison of two sides on a deployment, and what each counts there."""

    deployment: Deployment
    a: Side
    b: Side
    comparison: Comparison
    #: More photos than ``MAX_PHOTOS`` both ran on: the first were compared.
    capped: bool
    #: Individuals by label each side's occurrences count on the deployment (None: a version
    #: is named, and occurrences are tracked from current results only).
    individuals_a: list[tuple[str | None, int]] | None
    individuals_b: list[tuple[str | None, int]] | None


def compare_deployment(db: Database, caller: User, deployment_id: int, a: str, b: str) -> Compared:
    """Compare two sides (``slug`` or ``slug@version``) on a deployment's photos (viewers)."""
    with db.read() as repos:
        deployment = require(repos.core.deployments.get(deployment_id), "deployment", deployment_id)
        asked = ("deployment", deployment_id)
        project_for(repos, caller, deployment.project_id, Role.VIEWER, asked=asked)
        sides = [
            _side(repos, deployment.project_id, text, field) for text, field in ((a, "a"), (b, "b"))
        ]
        side_a, side_b = sides
        photos = repos.ecology.compare.both(deployment_id, side_a, side_b, MAX_PHOTOS + 1)
        found = Comparison(photos=min(len(photos), MAX_PHOTOS))
        for start in range(0, min(len(photos), MAX_PHOTOS), _BATCH):
            part = photos[start : start + _BATCH]
            compare(
                repos.ecology.compare.boxes(deployment_id, side_a, part),
                repos.ecology.compare.boxes(deployment_id, side_b, part),
                found,
            )
        return Compared(
            deployment,
            side_a,
            side_b,
            found,
            len(photos) > MAX_PHOTOS,
            _individuals(repos, deployment, side_a),
            _individuals(repos, deployment, side_b),
        )


def _side(repos: Repos, project_id: int, text: str, field: str) -> Side:
    """A side as written, checked: a pipeline of the project, and a version of it it has."""
    matched = _SIDE.match(text.strip())
    if matched is None:
        raise InvalidInput(
            f"{field}: write a pipeline's slug, or slug@version (got {text[:100]!r})",
            field=field,
        )
    slug, version = matched["slug"], matched["version"]
    check_pipeline(repos, project_id, slug, field)
    if version is None:
        return Side(project_id, slug)
    versions = sorted(
        p.version for p in repos.pipelines.pipelines.facts(project_id).values() if p.slug == slug
    )
    if int(version) not in versions:
        raise InvalidInput(
            f"{field}: {slug[:100]!r} has no version {version} in project {project_id} "
            f"(its versions: {', '.join(map(str, versions)) or 'none'})",
            field=field,
        )
    return Side(project_id, slug, int(version))


def _individuals(
    repos: Repos, deployment: Deployment, side: Side
) -> list[tuple[str | None, int]] | None:
    if side.version is not None:
        return None
    hidden = tuple(repos.taxa.taxa.hidden_labels(deployment.project_id))
    scope = Scope(
        deployment.project_id, deployment.id, hidden_labels=hidden, pipeline=side.pipeline
    )
    return repos.ecology.counts.per_label(scope)


def sides_of(db: Database, caller: User, deployment_id: int) -> list[str]:
    """What a deployment's comparison can name (viewers): each pipeline of its project, and
    each version of those that have several (``slug@N``)."""
    with db.read() as repos:
        deployment = require(repos.core.deployments.get(deployment_id), "deployment", deployment_id)
        asked = ("deployment", deployment_id)
        project_for(repos, caller, deployment.project_id, Role.VIEWER, asked=asked)
        known = project_pipelines(repos, deployment.project_id)
        pipelines = repos.pipelines.pipelines.facts(deployment.project_id).values()
        found: list[str] = []
        for slug in known:
            versions = sorted(p.version for p in pipelines if p.slug == slug)
            found.append(slug)
            if len(versions) > 1:
                found += [f"{slug}@{v}" for v in versions]
        return found


def first_sides(deployment: Deployment, sides: list[str]) -> tuple[str, str]:
    """The sides a comparison opens on: what the deployment counts by, against the next of
    the project's pipelines ("" where there is none)."""
    whole = [s for s in sides if "@" not in s]
    a = deployment.counting_pipeline or (whole[0] if whole else "")
    return a, next((s for s in whole if s != a), "")
