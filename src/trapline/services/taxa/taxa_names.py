"""Adding names typed or pasted to a project's taxa list, one a line (managers of the project
that keeps the list, as for a file): each name the list has is matched to its taxon, each
other one added at the rank asked for; with any line refused, nothing is added
(``domain/taxa/taxa_names.py``)."""

from __future__ import annotations

from trapline.db.engine import Database
from trapline.domain.core.records import User
from trapline.domain.taxa.taxa import Rank, RowOutcome
from trapline.domain.taxa.taxa_files import TaxaFile
from trapline.domain.taxa.taxa_names import name_entries, read_names
from trapline.domain.taxa.taxa_rows import TaxaFileInvalid
from trapline.errors import InvalidInput
from trapline.services.taxa.taxa import store_file, writable_list
from trapline.services.taxa.taxa_import import outline_of


def import_names(
    db: Database, caller: User, project_id: int, text: str, rank: Rank
) -> list[RowOutcome]:
    """Match or add each line's name (``rank``: a new name's, unless its line gives one); the
    lines' outcomes: UNCHANGED for a name matched to the list's taxon, ADDED, or ERROR.
    RejectedRows when a line is refused; InvalidInput naming ``names`` for a list over a taxa
    file's limits or without a name."""
    try:
        typed = list(read_names(text))
    except TaxaFileInvalid as exc:
        raise InvalidInput(f"names: {exc}", field="names") from None
    if not typed:
        raise InvalidInput("names: type or paste one name a line", field="names")
    with db.write() as repos:
        taxa_list = writable_list(repos, caller, project_id)
        known = repos.taxa.taxa_store.outline(taxa_list.id)
        found = name_entries(iter(typed), known, rank)
        taxa_file = TaxaFile(lambda parents, names: iter(found))
        outline, unread = outline_of(taxa_file)
        return store_file(repos, taxa_list.id, taxa_file, outline, unread, known, rows="lines")
