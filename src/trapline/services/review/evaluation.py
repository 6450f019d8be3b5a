"""Evaluation sets: people's identifications frozen under a name, and any model version scored
against them (``evaluation/sets.py`` says how; docs/evaluation.md).

Freezing copies each individual's latest identification not withdrawn (its box, photo, taxon
and the taxon's name) and the box reviews of the same photos: what people do afterwards
(identify again, withdraw, review, re-run) leaves the set as it was. Scoring walks the set
``PHOTOS_READ`` photos at a time, so a set of 100,000 boxes is read in a few hundred
statements and held a part at a time.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from trapline.clock import Clock, SystemClock
from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.repositories.review.evaluation_boxes import VersionBox
from trapline.db.repositories.review.evaluation_sets import Scope
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.errors import Conflict, InvalidInput
from trapline.evaluation.sets import EvaluationSet, Found, SetItem, SetScore
from trapline.services.core.access import project_for, require, require_person

SYSTEM_CLOCK = SystemClock()
#: The most taxa a set is narrowed to.
MAX_TAXA = 50
#: Photos read per step of a scoring.
PHOTOS_READ = 500
#: A version as pages name it: a pipeline's slug, with ``@N`` for one version of it.
_SIDE = re.compile(r"^(?P<slug>[^@\s][^@]{0,254})(?:@(?P<version>[0-9]{1,9}))?$")


@dataclass(frozen=True)
class Version:
    """The model version a scoring is of."""

    id: int
    slug: str
    version: int
    name: str
    #: Its pipeline's default threshold; a run whose job set its own is held to that one.
    threshold: float | None


@dataclass(frozen=True)
class Scored:
    """A version's scores against a set."""

    set: EvaluationSet
    version: Version
    score: SetScore


def create_set(
    db: Database,
    caller: User,
    project_id: int,
    name: str,
    *,
    deployment_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
    taxa: Sequence[str] = (),
    clock: Clock = SYSTEM_CLOCK,
) -> tuple[EvaluationSet, str | None]:
    """Freeze the project's identifications (of a deployment, dates and taxa when given) into
    a set named ``name`` (members). The set, and what to know when it is empty."""
    name = name.strip()
    if not name:
        raise InvalidInput("name: required", field="name")
    if since is not None and until is not None and since > until:
        raise InvalidInput(f"until: {until} is before since ({since})", field="until")
    with db.write() as repos:
        project_for(repos, require_person(caller), project_id, Role.MEMBER)
        if repos.review.evaluation_sets.named(project_id, name):
            raise Conflict(f"name: project {project_id} has an evaluation set named {name!r}")
        if deployment_id is not None:
            deployment = repos.core.deployments.get(deployment_id)
            if deployment is None or deployment.project_id != project_id:
                raise InvalidInput(
                    f"deployment_id: {deployment_id} is not a deployment of project {project_id}",
                    field="deployment_id",
                )
        names, taxon_ids = _taxa(repos, project_id, taxa)
        scope = Scope(project_id, deployment_id, since, until, taxon_ids)
        made = repos.review.evaluation_sets.create(scope, name, names, caller.id, clock.now())
        hidden = repos.taxa.taxa.hidden_labels(project_id)
        size, _ = repos.review.evaluation_sets.freeze(made, scope, hidden)
        found = repos.review.evaluation_sets.get(made)
        assert found is not None
        return found, None if size else empty_note(found)


def _taxa(repos: Repos, project_id: int, taxa: Sequence[str]) -> tuple[list[str], tuple[int, ...]]:
    """The taxa named (scientific names of the project's list), as named and by id."""
    wanted = list(dict.fromkeys(t.strip() for t in taxa if t.strip()))
    if len(wanted) > MAX_TAXA:
        raise InvalidInput(f"taxa: at most {MAX_TAXA} (got {len(wanted)})", field="taxa")
    if not wanted:
        return [], ()
    taxa_list = repos.taxa.taxa.list_of(project_id)
    if taxa_list is None:
        raise InvalidInput(
            "taxa: the project has no taxa list; import one, or freeze every identification",
            field="taxa",
        )
    names, ids, unknown = [], [], []
    for text in wanted:
        hits = [
            t
            for t in repos.taxa.taxa.search(taxa_list.id, text, 20)
            if t.scientific_name.casefold() == text.casefold()
        ]
        if not hits:
            unknown.append(text)
            continue
        names.append(hits[0].scientific_name)
        ids += [t.id for t in hits]
    if unknown:
        shown = ", ".join(repr(u[:100]) for u in unknown[:10])
        raise InvalidInput(f"taxa: not in the project's taxa list: {shown}", field="taxa")
    return names, tuple(ids)


def empty_note(found: EvaluationSet) -> str:
    """Why a set holds nothing, in a person's words."""
    within = []
    if found.taxa:
        within.append("of " + ", ".join(found.taxa))
    if found.deployment_id is not None:
        within.append(f"in deployment {found.deployment_id}")
    if found.since or found.until:
        within.append(f"from {found.since or 'the first photo'} to {found.until or 'the last'}")
    where = (" " + " ".join(within)) if within else ""
    return f"nobody has identified anything{where}: the set is empty"


def list_sets(db: Database, caller: User, project_id: int) -> list[EvaluationSet]:
    """The project's evaluation sets, newest first (viewers)."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return repos.review.evaluation_sets.of_project(project_id)


def get_set(db: Database, caller: User, set_id: int) -> EvaluationSet:
    """One evaluation set (viewers of its project)."""
    with db.read() as repos:
        return _set(repos, caller, set_id)


def _set(repos: Repos, caller: User, set_id: int) -> EvaluationSet:
    found = require(repos.review.evaluation_sets.get(set_id), "evaluation set", set_id)
    asked = ("evaluation set", set_id)
    project_for(repos, caller, found.project_id, Role.VIEWER, asked=asked)
    return found


def versions_of(db: Database, caller: User, project_id: int) -> list[str]:
    """What a scoring can name: each version of the project's pipelines (``slug@N``)."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        known = repos.pipelines.pipelines.facts(project_id).values()
        return [f"{p.slug}@{p.version}" for p in sorted(known, key=lambda p: (p.slug, p.version))]


def parse_side(text: str, field: str) -> tuple[str, int | None]:
    """A version as written (``slug@N``, or a slug alone: its newest): the slug and the
    version."""
    matched = _SIDE.match(text.strip())
    if matched is None:
        raise InvalidInput(
            f"{field}: write a pipeline's slug, or slug@version (got {text[:100]!r})",
            field=field,
        )
    version = matched["version"]
    return matched["slug"], int(version) if version is not None else None


def score(
    db: Database, caller: User, set_id: int, pipeline: str, version: int | None = None
) -> Scored:
    """Score a version of a pipeline (its newest when ``version`` is None) against a set
    (viewers)."""
    with db.read() as repos:
        found = _set(repos, caller, set_id)
        chosen = find_version(repos, found.project_id, pipeline, version)
        hidden = frozenset(repos.taxa.taxa.hidden_labels(found.project_id))
        taxa: dict[str, int | None] = {}
        tally = SetScore()
        after = 0
        while photos := repos.review.evaluation_sets.photos(set_id, after, PHOTOS_READ):
            after = photos[-1]
            items = repos.review.evaluation_sets.items(set_id, photos)
            seen, boxes = repos.review.evaluation_boxes.found(chosen.id, photos, hidden)
            _resolve(repos, found.project_id, boxes, taxa)
            by_photo: dict[int, list[Found]] = {}
            for box in boxes:
                by_photo.setdefault(box.image_id, []).append(_found(box, taxa))
            on_photo: dict[int, list[SetItem]] = {}
            for item in items:
                on_photo.setdefault(item.image_id, []).append(item)
            for image_id in photos:
                held = on_photo.get(image_id, [])
                tally.add(held, by_photo.get(image_id, []) if image_id in seen else None)
        predicted = {k for _, k in tally.confusion if isinstance(k, int)} - set(tally.names)
        for taxon in repos.taxa.taxa.by_ids(predicted).values():
            tally.names[taxon.id] = taxon.scientific_name
        return Scored(found, chosen, tally)


def find_version(repos: Repos, project_id: int, slug: str, version: int | None) -> Version:
    """The project's version of a pipeline, or InvalidInput naming what there is."""
    known = repos.pipelines.pipelines.facts(project_id).values()
    slugs = sorted({p.slug for p in known})
    if slug not in slugs:
        offered = ", ".join(slugs[:20]) or "none yet"
        raise InvalidInput(
            f"pipeline: {slug[:100]!r} is not a pipeline of project {project_id} "
            f"(its pipelines: {offered})",
            field="pipeline",
        )
    versions = sorted((p for p in known if p.slug == slug), key=lambda p: p.version)
    picked = (
        versions[-1]
        if version is None
        else next((p for p in versions if p.version == version), None)
    )
    if picked is None:
        raise InvalidInput(
            f"version: {slug[:100]!r} has no version {version} in project {project_id} "
            f"(its versions: {', '.join(str(p.version) for p in versions)})",
            field="version",
        )
    record = repos.pipelines.pipelines.get(picked.id)
    threshold = record.default_threshold if record is not None else None
    return Version(picked.id, picked.slug, picked.version, picked.name, threshold)


def _resolve(
    repos: Repos, project_id: int, boxes: Sequence[VersionBox], taxa: dict[str, int | None]
) -> None:
    """Add the taxa of the boxes' labels not yet in ``taxa`` (label -> taxon id or None)."""
    new = {label for box in boxes for label in box.ranked if label not in taxa}
    new |= {box.label for box in boxes if box.label is not None and box.label not in taxa}
    if not new:
        return
    resolver = repos.taxa.taxa.resolver(project_id, new)
    for label in new:
        taxa[label] = resolver.taxon_of(label)


def _found(box: VersionBox, taxa: dict[str, int | None]) -> Found:
    taxon = taxa.get(box.label) if box.label is not None else None
    ranked = tuple(taxa.get(label) for label in box.ranked)
    return Found(box.rect, box.score, taxon, box.label, ranked)


#: The columns of a scoring's CSV, one row per taxon.
CSV_COLUMNS = (
    "scientific_name", "members", "support", "predicted", "correct", "precision", "recall",
)  # fmt: skip


def scores_csv(scored: Scored) -> tuple[str, str]:
    """A scoring as CSV, one row per taxon (a file name, and the text): the figures of
    ``GET /evaluation-sets/{id}/scores``, with the pipeline and version in the file's name."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in scored.score.taxa():
        writer.writerow(
            [
                row.scientific_name,
                row.members,
                row.support,
                row.predicted,
                row.correct,
                _figure(row.precision),
                _figure(row.recall),
            ]
        )
    v = scored.version
    name = f"evaluation-{scored.set.id}-{v.slug}-v{v.version}.csv"
    return name, out.getvalue()


def confusion_csv(scored: Scored) -> tuple[str, str]:
    """A scoring's confusion table as CSV: one row per (people's taxon, the version's
    prediction) with how many identified boxes; a prediction of no box is empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("scientific_name", "predicted", "count"))
    for truth, said, count in confusion_rows(scored):
        writer.writerow((truth, said, count))
    v = scored.version
    return f"evaluation-{scored.set.id}-{v.slug}-v{v.version}-confusion.csv", out.getvalue()


def confusion_rows(scored: Scored) -> list[tuple[str, str, int]]:
    """The confusion table as (people's taxon, the version's prediction, identified boxes),
    most first: a prediction is a taxon's name, a label no taxon stands for (as the version
    wrote it), or "" for no box."""
    names = scored.score.names
    rows = []
    for (truth, said), count in scored.score.confusion.items():
        if isinstance(said, int):
            shown = names.get(said, str(said))
        else:
            shown = "" if said is None else f"{said} (no taxon)"
        rows.append((names.get(truth, ""), shown, count))
    return sorted(rows, key=lambda r: (-r[2], r[0], r[1]))


def _figure(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"
