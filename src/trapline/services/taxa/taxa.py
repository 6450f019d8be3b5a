"""Taxa lists: a project's list, importing and exporting it, sharing it, searching it, and
mapping the pipelines' labels onto it.

A project counts under one list: its own, made by its first import, or one it shares with
other projects. The managers of the project that keeps a list edit it; any project whose
manager may see the keeping project can use it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.tracking_due import label_events_due
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.domain.core.text import NOT_ONE_LINE
from trapline.domain.taxa.taxa import (
    LabelKind,
    LabelMapping,
    RowOutcome,
    RowStatus,
    TaxaList,
    Taxon,
)
from trapline.domain.taxa.taxa_checks import Checked, check
from trapline.domain.taxa.taxa_files import TaxaFile, TaxaFileInvalid, open_taxa, write_taxa_csv
from trapline.domain.taxa.taxa_outline import FileOutline, ListOutline
from trapline.errors import InvalidInput, NotFound, PermissionDenied, RejectedRows
from trapline.protocol.base import ONE_LINE, PATTERN_MEANINGS
from trapline.services.core.access import project_for, require
from trapline.services.taxa.taxa_import import (
    STATUSES,
    listed_when_refused,
    outcomes,
    outline_of,
    store_checked,
)

#: The most taxa one type-ahead answer names.
MAX_SUGGESTIONS = 50
#: The longest label a mapping names (as results store them).
MAX_LABEL = 255
#: The most row outcomes a refused import's answer lists: a file of 250,000 refused rows
#: answered each (~200 bytes a row as JSON, several times that while it is built).
REFUSAL_ROWS = 1_000


def project_list(db: Database, caller: User, project_id: int) -> TaxaList | None:
    """The list the project counts under (viewers), None when it has none yet."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return repos.taxa.taxa.list_of(project_id)


def import_taxa(
    db: Database, caller: User, project_id: int, data: bytes, filename: str
) -> list[RowOutcome]:
    """Add or update the project's list from a taxa file (managers of the project that keeps
    the list; a project without one gets its own). Every row is checked first: one bad row
    and nothing is imported (RejectedRows listing the outcomes of up to ``REFUSAL_ROWS`` rows,
    those with a problem first). The file is read twice (``taxa_import``): to check an outline
    of its rows, then to store them."""
    try:
        taxa_file = open_taxa(data, filename)
        outline, unread = outline_of(taxa_file)
    except TaxaFileInvalid as exc:
        raise InvalidInput(str(exc)) from None
    with db.write() as repos:
        taxa_list = writable_list(repos, caller, project_id)
        known = repos.taxa.taxa_store.outline(taxa_list.id)
        return store_file(repos, taxa_list.id, taxa_file, outline, unread, known)


def writable_list(repos: Repos, caller: User, project_id: int) -> TaxaList:
    """The list a manager of the project adds to: its own (made by the first import), or a
    shared one the caller manages the keeping project of (PermissionDenied otherwise)."""
    project, _ = project_for(repos, caller, project_id, Role.MANAGER)
    taxa_list = repos.taxa.taxa.list_of(project_id)
    if taxa_list is None:
        taxa_list = repos.taxa.taxa.create_list(project.name[:200], project_id)
        repos.taxa.taxa.use_list(project_id, taxa_list.id)
    elif taxa_list.owner_project_id != project_id:
        _require_keeper(repos, caller, taxa_list)
    return taxa_list


def store_file(
    repos: Repos,
    list_id: int,
    taxa_file: TaxaFile,
    outline: FileOutline,
    unread: Sequence[RowOutcome],
    known: ListOutline,
    *,
    rows: str = "rows",
) -> list[RowOutcome]:
    """Check a file's entries against the list (``known``: its taxa now) and store them, or
    refuse them all (RejectedRows naming its ``rows``, "rows" or "lines") when one has a
    problem; then every project that uses the list counts under it again."""
    checked = check(outline, known, unread)
    _refuse_bad_rows(repos, checked, unread, taxa_file, rows)
    # Names are no longer looked up: a file's 250,000 hold ~30 MB while it is stored.
    checked.tree.by_name.clear()
    try:
        statuses = store_checked(repos, list_id, checked, taxa_file.entries)
    except TaxaFileInvalid as exc:  # read once already: only if its bytes changed
        raise InvalidInput(str(exc)) from None
    for using in repos.taxa.taxa.projects_using(list_id):
        refresh_taxa(repos, using)
    return list(outcomes(checked, unread, lambda i: STATUSES[statuses[i]]))


def _refuse_bad_rows(
    repos: Repos,
    checked: Checked,
    unread: Sequence[RowOutcome],
    taxa_file: TaxaFile,
    rows: str = "rows",
) -> None:
    """RejectedRows when any row has a problem, listing the outcomes of at most
    ``REFUSAL_ROWS`` rows in file order: the first rows with a problem, then the others."""
    bad = len(checked.problems) + sum(o.status is RowStatus.ERROR for o in unread)
    if not bad:
        return
    first = next(o for o in outcomes(checked, unread, _as_checked(checked)) if _is_bad(o))
    listed = listed_when_refused(repos, checked, unread, taxa_file.entries, REFUSAL_ROWS)
    total = len(checked.file) + len(unread)
    raise RejectedRows(
        f"nothing imported: {bad:,} of {total:,} {rows} have problems (the first: "
        f"{rows[:-1]} {first.row}, {first.message}); fix them and import again",
        [_outcome(o) for o in listed],
        not_listed=total - len(listed),
    )


def _as_checked(checked: Checked) -> Callable[[int], RowStatus]:
    return lambda i: checked.status(i) or RowStatus.UNCHANGED


def _is_bad(outcome: RowOutcome) -> bool:
    return outcome.status is RowStatus.ERROR


def _require_keeper(repos: Repos, caller: User, taxa_list: TaxaList) -> None:
    """Only managers of the project that keeps a shared list edit it."""
    keeper = taxa_list.owner_project_id
    role = repos.core.projects.role_of(keeper, caller.id) if keeper is not None else None
    if keeper is None or not (caller.is_admin or role in (Role.MANAGER, Role.OWNER)):
        raise PermissionDenied(
            f"this project shares taxa list {taxa_list.id} ({taxa_list.name}); only managers of "
            "the project that keeps it edit it"
        )


def _outcome(outcome: RowOutcome) -> dict[str, object]:
    found = asdict(outcome)
    found["status"] = outcome.status.value
    return found


def export_taxa(db: Database, caller: User, project_id: int) -> tuple[str, str]:
    """The project's list as CSV (viewers), as it imports again: (file name, text)."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        taxa_list = repos.taxa.taxa.list_of(project_id)
        taxa = repos.taxa.taxa.all_of(taxa_list.id) if taxa_list else []
    names = {t.id: (t.scientific_name, t.rank) for t in taxa}
    out = io.StringIO()
    write_taxa_csv(taxa, names, out)
    return f"project-{project_id}-taxa.csv", out.getvalue()


def share_list(db: Database, caller: User, project_id: int, list_id: int) -> TaxaList:
    """The project counts under another project's list from now on (managers of the project
    who may see the list's keeper). Occurrences are counted under it at once."""
    with db.write() as repos:
        project_for(repos, caller, project_id, Role.MANAGER)
        taxa_list = repos.taxa.taxa.get_list(list_id)
        keeper = taxa_list.owner_project_id if taxa_list else None
        if taxa_list is None or keeper is None:
            raise NotFound(f"taxa list {list_id} not found")
        try:
            project_for(repos, caller, keeper, Role.VIEWER)
        except NotFound:
            raise NotFound(f"taxa list {list_id} not found") from None
        repos.taxa.taxa.use_list(project_id, list_id)
        refresh_taxa(repos, project_id)
        return taxa_list


def search(
    db: Database, caller: User, project_id: int, text: str, *, limit: int = 20
) -> list[Taxon]:
    """Type-ahead over the project's list (viewers): taxa whose scientific or vernacular name
    starts with ``text``, shortest names first."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        taxa_list = repos.taxa.taxa.list_of(project_id)
        if taxa_list is None:
            return []
        return repos.taxa.taxa.search(taxa_list.id, text, min(limit, MAX_SUGGESTIONS))


def page(
    db: Database, caller: User, project_id: int, *, limit: int, offset: int
) -> tuple[int, list[Taxon]]:
    """The project's taxa by name (viewers)."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        taxa_list = repos.taxa.taxa.list_of(project_id)
        if taxa_list is None:
            return 0, []
        return repos.taxa.taxa.page(taxa_list.id, limit=limit, offset=offset)


def get_taxon(db: Database, caller: User, project_id: int, taxon_id: int) -> Taxon:
    """A taxon of the project's list (viewers); one of another list is not found."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return taxon_of_project(repos, project_id, taxon_id, "taxon")


def taxa_by_ids(
    db: Database, caller: User, project_id: int, taxon_ids: Iterable[int]
) -> dict[int, Taxon]:
    """Taxa of the project's list by id (viewers); ids of no taxon of it are left out."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        taxa_list = repos.taxa.taxa.list_of(project_id)
        if taxa_list is None:
            return {}
        found = repos.taxa.taxa.by_ids(taxon_ids)
        return {i: t for i, t in found.items() if t.list_id == taxa_list.id}


def taxon_of_project(repos: Repos, project_id: int, taxon_id: int, field: str) -> Taxon:
    """A taxon of the project's list; NotFound (or, for a body's ``field``, InvalidInput)
    for any other."""
    taxa_list = repos.taxa.taxa.list_of(project_id)
    taxon = repos.taxa.taxa.get(taxon_id)
    if taxon is None or taxa_list is None or taxon.list_id != taxa_list.id:
        if field == "taxon":
            require(None, "taxon", taxon_id)
        raise InvalidInput(
            f"{field}: {taxon_id} is not a taxon of the project's taxa list", field=field
        )
    return taxon


# -- labels -------------------------------------------------------------------------------


def map_label(
    db: Database,
    caller: User,
    project_id: int,
    label: str,
    *,
    taxon_id: int | None = None,
    non_object: bool = False,
) -> LabelMapping:
    """Say what a label stands for (members): a taxon of the project's list, or no object
    (``non_object``); neither forgets a person's word, and the label is worked out again.
    Occurrences determined by the label are counted under its taxon at once."""
    if not label.strip() or len(label) > MAX_LABEL:
        raise InvalidInput(f"label: give the label as results name it (1-{MAX_LABEL} characters)")
    if NOT_ONE_LINE.search(label):  # as the API's rule: results never carry such a label
        raise InvalidInput(f"label: {PATTERN_MEANINGS[ONE_LINE]}")
    if non_object and taxon_id is not None:
        raise InvalidInput("taxon_id: a label is either a taxon or no object, not both")
    with db.write() as repos:
        project_for(repos, caller, project_id, Role.MEMBER)
        if taxon_id is not None:
            taxon_of_project(repos, project_id, taxon_id, "taxon_id")
        kind = LabelKind.TAXON if taxon_id is not None else None
        was_hidden = label in repos.taxa.taxa.hidden_labels(project_id)
        repos.taxa.taxa.set_mapping(
            project_id, label, LabelKind.NON_OBJECT if non_object else kind, taxon_id, caller.id
        )
        if was_hidden != non_object:  # which detections take part changed: track again
            label_events_due(repos.session, project_id, label)
        mapping = repos.taxa.taxa.resolver(project_id, [label]).mapping(label)
        _retaxon(repos, project_id, [(label, mapping.taxon_id)])
        return mapping


def no_object_labels(db: Database, caller: User, project_id: int) -> frozenset[str]:
    """The labels a person mapped as no object in the project (viewers)."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return frozenset(repos.taxa.taxa.hidden_labels(project_id))


def refresh_taxa(repos: Repos, project_id: int) -> None:
    """Every label of the project's occurrences names its taxon again (after its list
    changed): occurrences whose taxon changed are counted again."""
    labels = [label for label, _ in repos.ecology.counts.labels(project_id) if label]
    resolver = repos.taxa.taxa.resolver(project_id, labels)
    _retaxon(repos, project_id, [(label, resolver.taxon_of(label)) for label in labels])


def _retaxon(repos: Repos, project_id: int, named: Sequence[tuple[str, int | None]]) -> None:
    for label, taxon_id in named:
        repos.ecology.occurrences.retaxon(project_id, label, taxon_id)
