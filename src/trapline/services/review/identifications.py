"""People's identifications: naming an occurrence's (or a detection's) taxon, agreeing with
the model or with another person, or rejecting the occurrence as nothing to count ("not an
insect", ``domain/taxa/rejections.py``), kept with their history. Withdrawing one undoes it.

An identification is kept on a detection (an occurrence's best one when made on the
occurrence), so it follows the individual through later trackings; the occurrence holding
the detection is determined again at once (``domain/ecology/occurrences.py`` says how).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from trapline.clock import Clock, SystemClock
from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.domain.ecology.occurrences import LabelGroup, Occurrence
from trapline.domain.processing.results import AnnotationType
from trapline.domain.taxa.rejections import Rejection
from trapline.domain.taxa.taxa import Identification, Taxon
from trapline.errors import InvalidInput, NotFound, PermissionDenied
from trapline.services.core.access import project_for, require, require_person
from trapline.services.ecology.counting import counting_scope
from trapline.services.ecology.occurrences import (
    model_choice,
    model_choices,
    redetermine,
    redetermine_all,
)
from trapline.services.taxa.taxa import taxon_of_project

#: The longest comment kept with an identification.
MAX_COMMENT = 2000
SYSTEM_CLOCK = SystemClock()
#: ``agree_with`` naming the models' determination.
MODEL = "model"
#: The most occurrences one bulk identification names.
MAX_BULK = 500
#: The most taxa the identify forms offer as one-click buttons (a person's latest).
QUICK_TAXA = 6
#: How many of a person's latest identifications those taxa are read from: a few bulk ones.
QUICK_WINDOW = 4 * MAX_BULK


def identify_occurrence(
    db: Database,
    caller: User,
    occurrence_id: int,
    *,
    taxon_id: int | None = None,
    agree_with: str | int | None = None,
    rejected: Rejection | None = None,
    comment: str = "",
    clock: Clock = SYSTEM_CLOCK,
) -> tuple[Identification, Occurrence]:
    """Identify an occurrence (members of its project): name a taxon of the project's list,
    agree with the model (``agree_with="model"``) or with an identification of it (its id),
    or reject it (``rejected``: it counts nowhere until the rejection is withdrawn). The
    identification, and the occurrence as now determined."""
    _check(taxon_id, agree_with, comment, rejected)
    with db.write() as repos:
        occurrence = require(
            repos.ecology.occurrences.get(occurrence_id), "occurrence", occurrence_id
        )
        asked = ("occurrence", occurrence_id)
        project_for(repos, require_person(caller), occurrence.project_id, Role.MEMBER, asked=asked)
        chosen, agreed = (
            (None, None) if rejected else _taxon(repos, occurrence, taxon_id, agree_with)
        )
        made = repos.review.identifications.add(
            project_id=occurrence.project_id, occurrence_id=occurrence.id,
            annotation_id=occurrence.best_annotation_id, taxon_id=chosen, agreed_with=agreed,
            comment=comment.strip(), user_id=caller.id, at=clock.now(),
            rejected=rejected.value if rejected else None,
        )  # fmt: skip
        found = repos.review.identifications.get(made)
        assert found is not None
        return found, redetermine(repos, occurrence)


def identify_occurrences(
    db: Database,
    caller: User,
    project_id: int,
    occurrence_ids: Sequence[int],
    *,
    taxon_id: int | None = None,
    agree_with: str | None = None,
    rejected: Rejection | None = None,
    comment: str = "",
    clock: Clock = SYSTEM_CLOCK,
) -> list[tuple[Identification, Occurrence]]:
    """Identify many occurrences of a project at once (members), all or none: as the taxon
    named, each as its model's label names (``agree_with="model"``), or reject them all
    (``rejected``). Each identification with its occurrence as now determined, in the order
    given.

    An occurrence of another project, or one the caller may not see, is refused as a missing
    one is: the whole request, naming them."""
    _check(taxon_id, agree_with, comment, rejected)
    if agree_with is not None and agree_with != MODEL:
        raise InvalidInput(f"agree_with: only {MODEL!r} (the model) for many occurrences")
    ids = _bulk_ids(occurrence_ids)
    with db.write() as repos:
        project_for(repos, require_person(caller), project_id, Role.MEMBER)
        found = repos.review.identifications.occurrences_of(project_id, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(f"occurrences {_listed(missing)} not found in project {project_id}")
        chosen = [found[i] for i in ids]
        taxa: dict[int, int | None]
        if rejected is not None:
            taxa = dict.fromkeys(ids)
        elif taxon_id is not None:
            named = taxon_of_project(repos, project_id, taxon_id, "taxon_id").id
            taxa = dict.fromkeys(ids, named)
        else:
            choices = model_choices(repos, chosen)
            unmapped = [f"{i} ({choices[i][0]!r})" for i in ids if choices[i][1] is None]
            if unmapped:
                raise InvalidInput(
                    f"agree_with: the model's label names no taxon of the project's list for "
                    f"occurrences {_listed(unmapped)}; map the labels to taxa first, or name "
                    "the taxon"
                )
            taxa = {i: t for i, (_, t) in choices.items() if t is not None}
        at = clock.now()
        made = [
            repos.review.identifications.add(
                project_id=project_id,
                occurrence_id=o.id,
                annotation_id=o.best_annotation_id,
                taxon_id=taxa[o.id],
                agreed_with=agree_with,
                comment=comment.strip(),
                user_id=caller.id,
                at=at,
                rejected=rejected.value if rejected else None,
            )
            for o in chosen
        ]
        kept = repos.review.identifications.many(made)
        return list(zip([kept[i] for i in made], redetermine_all(repos, chosen), strict=True))


def _bulk_ids(
    given: Sequence[int], field: str = "occurrence_ids", things: str = "occurrences"
) -> list[int]:
    """The occurrences (or ``things``) of a bulk request: 1 to ``MAX_BULK``, each named once."""
    ids = list(given)
    if not 1 <= len(ids) <= MAX_BULK:
        raise InvalidInput(f"{field}: name 1 to {MAX_BULK} {things} (got {len(ids):,})")
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:
        raise InvalidInput(f"{field}: each of the {things} once ({_listed(repeated)} repeated)")
    return ids


def _listed(items: Sequence[object], most: int = 20) -> str:
    """Items named in a message: the first ``most``, and how many more."""
    shown = ", ".join(str(i) for i in items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def identify_detection(
    db: Database,
    caller: User,
    annotation_id: int,
    *,
    taxon_id: int,
    comment: str = "",
    clock: Clock = SYSTEM_CLOCK,
) -> tuple[Identification, Occurrence | None]:
    """Identify a single detection (members of its project); the occurrence holding it, if
    any, is determined again."""
    _check(taxon_id, None, comment)
    with db.write() as repos:
        project_id, _, kind = require(
            repos.review.reviews.annotation(annotation_id), "annotation", annotation_id
        )
        asked = ("annotation", annotation_id)
        project_for(repos, require_person(caller), project_id, Role.MEMBER, asked=asked)
        if kind != AnnotationType.BOUNDING_BOX.value:
            raise InvalidInput(
                f"annotation {annotation_id} is a {kind}; identify the detection (its box)"
            )
        taxon_of_project(repos, project_id, taxon_id, "taxon_id")
        occurrence_id = repos.ecology.occurrences.of_annotation(annotation_id)
        made = repos.review.identifications.add(
            project_id=project_id, occurrence_id=None, annotation_id=annotation_id,
            taxon_id=taxon_id, agreed_with=None, comment=comment.strip(), user_id=caller.id,
            at=clock.now(),
        )  # fmt: skip
        found = repos.review.identifications.get(made)
        assert found is not None
        occurrence = repos.ecology.occurrences.get(occurrence_id) if occurrence_id else None
        return found, redetermine(repos, occurrence) if occurrence else None


def withdraw(db: Database, caller: User, identification_id: int) -> Occurrence | None:
    """Withdraw an identification (its author, or a manager): it stays in the history but
    counts no more. The occurrence it determined, as now determined."""
    with db.write() as repos:
        found = require(
            repos.review.identifications.get(identification_id), "identification", identification_id
        )
        asked = ("identification", identification_id)
        _, role = project_for(repos, caller, found.project_id, Role.MEMBER, asked=asked)
        if found.user_id != caller.id and not role.allows(Role.MANAGER):
            raise PermissionDenied("only its author or a manager withdraws an identification")
        changed = _withdrawn(repos, identification_id)
        own = repos.ecology.occurrences.of_annotation(found.annotation_id)
        others = [o for o in changed if o.id != own]
        redetermine_all(repos, others)  # the parts its copies named
        occurrence = repos.ecology.occurrences.get(own) if own else None
        return redetermine(repos, occurrence) if occurrence else None


def withdraw_many(
    db: Database, caller: User, project_id: int, identification_ids: Sequence[int]
) -> list[Occurrence]:
    """Withdraw many identifications of a project at once, all or none (each by its author,
    or any by a manager): undoing a bulk identification or rejection. The occurrences they
    determined, as now determined.

    One of another project, or one the caller may not see, is refused as a missing one is:
    the whole request, naming them."""
    ids = _bulk_ids(identification_ids, "identification_ids", "identifications")
    with db.write() as repos:
        _, role = project_for(repos, caller, project_id, Role.MEMBER)
        found = repos.review.identifications.many(ids)
        missing = [i for i in ids if i not in found or found[i].project_id != project_id]
        if missing:
            raise NotFound(f"identifications {_listed(missing)} not found in project {project_id}")
        others = [i for i in ids if found[i].user_id != caller.id]
        if others and not role.allows(Role.MANAGER):
            raise PermissionDenied(
                f"only their author or a manager withdraws identifications {_listed(others)}"
            )
        held: dict[int, Occurrence] = {}
        for i in ids:
            held.update((o.id, o) for o in _withdrawn(repos, i))
        return redetermine_all(repos, list(held.values()))


def _withdrawn(repos: Repos, identification_id: int) -> list[Occurrence]:
    """Withdraw an identification with its copies; the occurrences they named."""
    found: dict[int, Occurrence] = {}
    for annotation_id in repos.review.identifications.withdraw(identification_id):
        occurrence_id = repos.ecology.occurrences.of_annotation(annotation_id)
        occurrence = repos.ecology.occurrences.get(occurrence_id) if occurrence_id else None
        if occurrence is not None:
            found[occurrence.id] = occurrence
    return list(found.values())


def recent_taxa(db: Database, caller: User, project_id: int) -> list[Taxon]:
    """The taxa the caller named most recently in a project, newest first, each once (at most
    ``QUICK_TAXA``, of the project's list): the identify forms' quick buttons. None for a
    caller who may not identify there (a viewer, a service account); NotFound for an
    outsider, as for a missing project."""
    with db.read() as repos:
        _, role = project_for(repos, caller, project_id, Role.VIEWER)
        if caller.is_service or not role.allows(Role.MEMBER):
            return []
        ids = repos.review.identifications.recent_taxa(
            project_id, caller.id, limit=QUICK_TAXA, window=QUICK_WINDOW
        )
        taxa_list = repos.taxa.taxa.list_of(project_id)
        if taxa_list is None or not ids:
            return []
        found = repos.taxa.taxa.by_ids(ids)
        return [found[i] for i in ids if i in found and found[i].list_id == taxa_list.id]


def history(db: Database, caller: User, occurrence_id: int) -> list[Identification]:
    """Every identification of an occurrence, oldest first, withdrawn ones too (viewers)."""
    with db.read() as repos:
        occurrence = require(
            repos.ecology.occurrences.get(occurrence_id), "occurrence", occurrence_id
        )
        asked = ("occurrence", occurrence_id)
        project_for(repos, caller, occurrence.project_id, Role.VIEWER, asked=asked)
        return repos.review.identifications.of_occurrence(occurrence_id)


def unplaced(
    db: Database, caller: User, project_id: int, *, limit: int, offset: int
) -> tuple[int, list[Identification]]:
    """People's identifications no occurrence holds now (viewers): new results had no
    detection where theirs was. Kept, for a person to look at again."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return repos.review.identifications.unplaced(project_id, limit=limit, offset=offset)


def queue(
    db: Database, caller: User, project_id: int, *, limit: int, offset: int
) -> tuple[int, list[Occurrence]]:
    """The project's occurrences that need a person's look, most needed first (viewers):
    people disagreeing, then no species-level taxon, then the least sure."""
    with db.read() as repos:
        scope = counting_scope(repos, caller, project_id)
        return repos.review.identifications.queue(scope, limit=limit, offset=offset)


def queue_by_label(
    db: Database,
    caller: User,
    project_id: int,
    *,
    limit: int,
    offset: int,
    per_label: int,
    shown: int,
) -> tuple[int, list[LabelGroup]]:
    """The queue's occurrences that the models determine, grouped by the models' label, most
    occurrences first (viewers): how many groups, and a page of them with the ids of their
    first ``per_label`` occurrences (at most ``MAX_BULK``, what one confirmation takes), the
    least sure first, and the first ``shown`` of those whole."""
    if not 1 <= per_label <= MAX_BULK:
        raise InvalidInput(f"per_label: 1 to {MAX_BULK} (got {per_label})")
    with db.read() as repos:
        scope = counting_scope(repos, caller, project_id)
        return repos.review.identifications.queue_labels(
            scope, limit=limit, offset=offset, per_label=per_label, shown=shown
        )


def _check(
    taxon_id: int | None,
    agree_with: str | int | None,
    comment: str,
    rejected: Rejection | None = None,
) -> None:
    if sum(x is not None for x in (taxon_id, agree_with, rejected)) != 1:
        raise InvalidInput(
            "taxon_id: name a taxon, agree_with the model or an identification, or reject it "
            "(rejected); one of them"
        )
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"comment: at most {MAX_COMMENT:,} characters")


def _taxon(
    repos: Repos, occurrence: Occurrence, taxon_id: int | None, agree_with: str | int | None
) -> tuple[int, str | None]:
    """The taxon an identification names, and what it agrees with."""
    if taxon_id is not None:
        return taxon_of_project(repos, occurrence.project_id, taxon_id, "taxon_id").id, None
    if agree_with == MODEL:
        label, taxon = model_choice(repos, occurrence)
        if taxon is None:
            raise InvalidInput(
                f"agree_with: the model's label {label!r} names no taxon of the project's list; "
                "map the label to a taxon first, or name the taxon"
            )
        return taxon, MODEL
    other = repos.review.identifications.get(agree_with) if isinstance(agree_with, int) else None
    mine = {i.id for i in repos.review.identifications.of_occurrence(occurrence.id)}
    if other is None or other.id not in mine or other.withdrawn:
        raise InvalidInput(
            f"agree_with: {agree_with!r} is neither 'model' nor an identification of "
            f"occurrence {occurrence.id}"
        )
    if other.taxon_id is None:
        raise InvalidInput(
            f"agree_with: identification {other.id} is a rejection, not a taxon; reject the "
            "occurrence yourself (rejected) to agree with it"
        )
    return other.taxon_id, str(other.id)
