"""Choosing what a deployment counts by, and carrying people's work to it.

People's work belongs to the animal, not to the model that boxed it: when a person changes
what a deployment counts by, each identification and review of the individuals it counted is
carried to the individual of the new pipeline that holds the same animal — the box on the same
photo that overlaps it most, at an intersection over union of at least 0.5, each box taking at
most one (the re-run rule, ``domain/ecology/succession.py``). What has no such box is said,
never dropped: the identification or review stays on the box it was made on, so switching back
counts it again.

A copy keeps the person, taxon, comment and time; it is made only where the new individual has
no identification as recent, so carrying back and forth adds nothing, and a name a person gave
the new individual afterwards outranks an older one carried to it. The ids exports publish go
the same way: the new individual holding most of an old one's boxes publishes its id.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.repositories.ecology.carrying import Tracked
from trapline.db.tracking_due import events_due
from trapline.domain.core.records import Deployment, User
from trapline.domain.core.roles import Role
from trapline.domain.ecology.choices import Chosen
from trapline.domain.ecology.succession import successors
from trapline.errors import InvalidInput
from trapline.services.core.access import project_for, require
from trapline.services.ecology.occurrences import redetermine_all

#: What could not be carried is kept on the deployment: this many lines, at most.
MAX_NOT_CARRIED = 100


def choose_counting(
    db: Database, caller: User, deployment_id: int, pipeline: str, project_id: int | None = None
) -> Deployment:
    """A person chooses the pipeline a deployment (of ``project_id``, when given) counts by
    (managers): one tracked on it; nothing but a person changes it after."""
    with db.write() as repos:
        deployment = repos.core.deployments.get(deployment_id)
        if deployment is None or project_id not in (None, deployment.project_id):
            require(None, "deployment", deployment_id)
        assert deployment is not None
        asked = ("deployment", deployment_id)
        project_for(repos, caller, deployment.project_id, Role.MANAGER, asked=asked)
        found = repos.ecology.choices.tracked(deployment.project_id, deployment_id)
        tracked = [p for p, _, _ in found.get(deployment_id, [])]
        if pipeline not in tracked:
            offered = ", ".join(tracked[:20]) or "none yet"
            raise InvalidInput(
                f"pipeline: {pipeline[:100]!r} has no results tracked on deployment "
                f"{deployment_id} (its pipelines: {offered})",
                field="pipeline",
            )
        _count_by(repos, deployment_id, deployment.counting_pipeline, pipeline, Chosen.PERSON)
        chosen = repos.core.deployments.get(deployment_id)
    assert chosen is not None
    return chosen


def count_project_by(repos: Repos, project_id: int, pipeline: str) -> None:
    """A person chose what the project counts by: every deployment with its results counts by
    it, but those a person chose for on their own, and people's work is carried to its
    individuals on each deployment that changes."""
    for deployment_id, before in repos.ecology.choices.project_choice(project_id, pipeline):
        _count_by(repos, deployment_id, before, pipeline, Chosen.PROJECT)


def _count_by(
    repos: Repos, deployment_id: int, before: str | None, pipeline: str, chosen: Chosen
) -> None:
    repos.ecology.choices.choose(deployment_id, pipeline, chosen)
    if before is not None and before != pipeline:
        lines = carry(repos, deployment_id, before, pipeline)
        repos.ecology.choices.not_carried(deployment_id, said(lines))


def carry(repos: Repos, deployment_id: int, before: str, after: str) -> list[str]:
    """Carry the identifications, reviews and published ids of ``before``'s individuals in a
    deployment to ``after``'s; a line for each identification or review not carried."""
    carrying = repos.ecology.carrying
    old = carrying.tracked(deployment_id, before)
    new = carrying.tracked(deployment_id, after)
    heirs = _heirs(old, new, successors(old.placed, new.placed))
    carrying.publish(deployment_id, after, _published(heirs))
    named = carrying.identifications([p.id for p in old.placed])
    lines = _carry_names(repos, named, old, heirs, after)
    judged, reviewed = carrying.reviewed(deployment_id, before)
    lines += _carry_reviews(repos, judged, successors(reviewed, new.placed), after)
    return lines


@dataclass(frozen=True)
class _Heir:
    """The new individual holding most of an old one's detections' counterparts."""

    occurrence_id: int
    #: Its first detection among them (a copied identification goes on it).
    anchor: int
    #: How many of the old one's detections it holds counterparts of.
    votes: int


def _heirs(old: Tracked, new: Tracked, pairs: dict[int, int]) -> dict[int, _Heir]:
    """Each old individual's heir (most counterparts, then the lowest id); those without a
    counterpart anywhere are left out."""
    votes: dict[int, Counter[int]] = defaultdict(Counter)
    first: dict[tuple[int, int], int] = {}
    for was, now in sorted(pairs.items()):
        individual, heir = old.occurrence_of[was], new.occurrence_of[now]
        votes[individual][heir] += 1
        first.setdefault((individual, heir), now)
    found = {}
    for individual, counted in votes.items():
        heir = min(counted, key=lambda o: (-counted[o], o))
        found[individual] = _Heir(heir, first[individual, heir], counted[heir])
    return found


def _published(heirs: dict[int, _Heir]) -> dict[int, int]:
    """Which old individual each heir publishes the id of: of several, the one it holds most
    of (then the lowest id)."""
    chosen: dict[int, tuple[int, int]] = {}
    for individual, heir in sorted(heirs.items()):
        best = chosen.get(heir.occurrence_id)
        if best is None or heir.votes > best[0]:
            chosen[heir.occurrence_id] = (heir.votes, individual)
    return {heir: individual for heir, (_, individual) in chosen.items()}


def _carry_names(
    repos: Repos, named: list[Any], old: Tracked, heirs: dict[int, _Heir], after: str
) -> list[str]:
    """Copy each identification to its individual's heir, unless the heir was named as
    recently (a copy carried before, or a person's own since)."""
    carrying, lines = repos.ecology.carrying, []
    newest = carrying.newest_named(sorted({h.occurrence_id for h in heirs.values()}))
    anew: set[int] = set()
    for row in named:  # oldest first, so the heir ranks them as the individual did
        individual = old.occurrence_of[row.annotation_id]
        if individual not in heirs:
            lines.append(
                f"identification {row.id} of occurrence {individual}: no box of {after} "
                "overlaps one of the occurrence's by half"
            )
            continue
        heir, anchor = heirs[individual].occurrence_id, heirs[individual].anchor
        last = newest.get(heir)
        if last is None or row.created_at > last:
            carrying.name(row, anchor)
            newest[heir] = row.created_at
            anew.add(heir)
    found = [o for o in (repos.ecology.occurrences.get(i) for i in sorted(anew)) if o]
    if found:
        redetermine_all(repos, found)
    return lines


def _carry_reviews(
    repos: Repos, judged: dict[int, Any], pairs: dict[int, int], after: str
) -> list[str]:
    """Copy each box's latest review to its successor, unless that box was reviewed since;
    the photos of boxes judged anew are tracked again."""
    carrying, lines = repos.ecology.carrying, []
    held = carrying.reviews([t for a in judged if (t := pairs.get(a)) is not None])
    photos: set[int] = set()
    for annotation_id, row in sorted(judged.items()):
        target = pairs.get(annotation_id)
        if target is None:
            lines.append(
                f"review {row.id} ({row.verdict}) of detection {annotation_id}: no box of "
                f"{after} on its photo overlaps it by half"
            )
        elif target not in held or held[target].created_at < row.created_at:
            carrying.judge(row, target)
            photos.add(int(row.image_id))
    if photos:  # which boxes take part changed
        events_due(repos.session, sorted(photos))
    return lines


def said(lines: list[str]) -> str | None:
    """The lines kept on the deployment (None: everything was carried)."""
    if not lines:
        return None
    kept = lines[:MAX_NOT_CARRIED]
    if len(lines) > len(kept):
        kept.append(f"and {len(lines) - len(kept)} more")
    return "\n".join(kept)
