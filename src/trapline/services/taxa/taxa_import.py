"""Importing a taxa file into a list, in two readings of the file: the first keeps an outline
of its entries (``taxa_outline``) to check them against each other and the list; the second
stores them a batch at a time, each after its parent.

So the entries of a file of 250,000 rows are never all held at once: the outline keeps a name
and a few numbers of each, and a batch of ``STORE_BATCH`` entries is stored at a time. Whether
an entry of a taxon the list has changes it (UPDATED or UNCHANGED) is told as it is stored,
against the taxon read then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from itertools import islice

from trapline.db.repositories import Repos
from trapline.db.repositories.taxa.taxa_store import STORE_BATCH, Stored
from trapline.domain.taxa.taxa import RowOutcome, RowStatus, TaxonEntry
from trapline.domain.taxa.taxa_checks import Checked, Tree, changes, check
from trapline.domain.taxa.taxa_files import TaxaFile
from trapline.domain.taxa.taxa_outline import FileOutline

#: The outcomes a row can have, by the number ``store_checked`` gives each entry.
STATUSES: tuple[RowStatus, ...] = tuple(RowStatus)
_CODE = {status: code for code, status in enumerate(STATUSES)}
#: Reads a file's entries again from the top.
Entries = Callable[[], Iterable[TaxonEntry]]


def outline_of(taxa_file: TaxaFile) -> tuple[FileOutline, list[RowOutcome]]:
    """The first reading: the outline of a file's entries, and the outcomes of its rows not
    read as one (ERROR, or UNCHANGED for a checklist's synonyms), in the file's order.

    Raises:
        TaxaFileInvalid: the file cannot be read (``TaxaFile``).
    """
    outline = FileOutline()
    unread: list[RowOutcome] = []
    for found in taxa_file.rows():
        if isinstance(found, TaxonEntry):
            outline.add(found)
        else:
            unread.append(found)
    return outline, unread


def check_file(
    repos: Repos, list_id: int, outline: FileOutline, unread: Sequence[RowOutcome]
) -> Checked:
    """The file's entries checked against each other and against the list's taxa now."""
    return check(outline, repos.taxa.taxa_store.outline(list_id), unread)


def store_checked(repos: Repos, list_id: int, checked: Checked, entries: Entries) -> bytearray:
    """The second reading: store every entry (none may have a problem), each after its parent,
    a batch at a time; an entry that changes nothing of the list's taxon is left. An entry
    whose parent comes later in the file waits for another reading. Returns each entry's
    outcome as its number in ``STATUSES``."""
    writer = _Writer(repos, list_id, checked)
    tree, count = checked.tree, len(checked.file)
    while writer.finished < count:
        before = writer.finished
        for i, entry in _placed(entries(), checked.file):
            parent = tree.parents[checked.nodes[i]]
            waits = parent >= 0 and not tree.taxon_ids[parent] and parent not in writer.nodes
            if not writer.done[i] and not waits:
                writer.add(i, entry)
        writer.flush()
        if writer.finished == before:
            raise RuntimeError("taxa import: entries whose parents are never stored")
    repos.taxa.taxa_store.finish(list_id, writer.moved)
    return writer.statuses


class _Writer:
    """The batch of entries being stored, and what became of each entry so far."""

    def __init__(self, repos: Repos, list_id: int, checked: Checked) -> None:
        self.repos, self.list_id, self.checked = repos, list_id, checked
        self.statuses = bytearray(len(checked.file))
        self.done = bytearray(len(checked.file))
        self.finished = 0
        self.moved = False
        self.batch: list[tuple[int, TaxonEntry]] = []
        #: The nodes of the batch's entries.
        self.nodes: set[int] = set()

    def add(self, i: int, entry: TaxonEntry) -> None:
        self.batch.append((i, entry))
        self.nodes.add(self.checked.nodes[i])
        if len(self.batch) >= STORE_BATCH:
            self.flush()

    def flush(self) -> None:
        """Store the batch a generation at a time: the entries whose parents have ids, then
        those under them, ..."""
        tree, nodes = self.checked.tree, self.checked.nodes
        waiting = self.batch
        while waiting:
            ready = [(i, e) for i, e in waiting if _has_parent_id(tree, nodes[i])]
            if not ready:
                raise RuntimeError("taxa import: a batch whose parents are never stored")
            self._write(ready)
            waiting = [(i, e) for i, e in waiting if not self.done[i]]
        self.batch, self.nodes = [], set()

    def _write(self, generation: list[tuple[int, TaxonEntry]]) -> None:
        checked, tree = self.checked, self.checked.tree
        known = [tree.taxon_ids[checked.nodes[i]] for i, _ in generation if _known(checked, i)]
        current = self.repos.taxa.taxa.by_ids(known)
        stored: list[Stored] = []
        places: list[int] = []
        for i, entry in generation:
            node = checked.nodes[i]
            taxon = current.get(tree.taxon_ids[node]) if _known(checked, i) else None
            parent = tree.parents[node]
            parent_id = tree.taxon_ids[parent] if parent >= 0 else None
            status = RowStatus.ADDED
            if taxon is not None:
                changed = changes(entry, checked.parent_id(i), taxon)
                status = RowStatus.UPDATED if changed else RowStatus.UNCHANGED
                self.moved = self.moved or (changed and parent_id != taxon.parent_id)
            self.statuses[i] = _CODE[status]
            if status is not RowStatus.UNCHANGED:
                stored.append((entry, parent_id, _path(checked, node), taxon))
                places.append(i)
        ids = self.repos.taxa.taxa_store.write(self.list_id, stored)
        for i, taxon_id in zip(places, ids, strict=True):
            tree.taxon_ids[checked.nodes[i]] = taxon_id
        for i, _ in generation:
            self.done[i] = 1
        self.finished += len(generation)


def _known(checked: Checked, i: int) -> bool:
    """Whether entry ``i`` is of a taxon the list had."""
    return checked.nodes[i] < checked.tree.known


def _has_parent_id(tree: Tree, node: int) -> bool:
    parent = tree.parents[node]
    return parent < 0 or tree.taxon_ids[parent] != 0


def _path(checked: Checked, node: int) -> tuple[int, ...]:
    """The ids of a node's ancestors from the root (each stored before it)."""
    tree = checked.tree
    chain: list[int] = []
    parent = tree.parents[node]
    while parent >= 0 and len(chain) <= len(tree.names):
        chain.append(tree.taxon_ids[parent])
        parent = tree.parents[parent]
    return tuple(reversed(chain))


def _placed(entries: Iterable[TaxonEntry], file: FileOutline) -> Iterator[tuple[int, TaxonEntry]]:
    """The entries read again with their places in the outline; entries the outline does not
    have (rows refused for their parent, whose entries the second reading gives) are left."""
    rows, place = file.rows, 0
    for entry in entries:
        while place < len(rows) and rows[place] < entry.row:
            place += 1
        if place < len(rows) and rows[place] == entry.row:
            yield place, entry


def outcomes(
    checked: Checked, unread: Sequence[RowOutcome], status: Callable[[int], RowStatus]
) -> Iterator[RowOutcome]:
    """Every row's outcome in the file's order: the entries' (``status`` of each place) and
    those of the rows not read as one."""
    file, others = checked.file, iter(unread)
    waiting = next(others, None)
    for i, row in enumerate(file.rows):
        while waiting is not None and waiting.row < row:
            yield waiting
            waiting = next(others, None)
        yield RowOutcome(row, file.names[i], status(i), checked.problem(i))
    if waiting is not None:
        yield waiting
    yield from others


def listed_when_refused(
    repos: Repos, checked: Checked, unread: Sequence[RowOutcome], entries: Entries, most: int
) -> list[RowOutcome]:
    """The outcomes a refusal lists, in file order: the first ``most`` rows with a problem,
    then as many others as there is room for (UPDATED or UNCHANGED told against the list)."""

    def status(i: int) -> RowStatus:
        return checked.status(i) or RowStatus.UNCHANGED

    errors = list(islice((o for o in outcomes(checked, unread, status) if _bad(o)), most))
    others = outcomes(checked, unread, status)
    listed = [*errors, *islice((o for o in others if not _bad(o)), most - len(errors))]
    places = {o.row: checked.file.place_of(o.row) for o in listed[len(errors) :]}
    asked = {i for i in places.values() if i is not None and checked.status(i) is None}
    told = _told(repos, checked, entries, asked)
    listed = [
        RowOutcome(o.row, o.name, told.get(_place(places, o.row), o.status), o.message)
        for o in listed
    ]
    return sorted(listed, key=lambda o: o.row)


def _place(places: dict[int, int | None], row: int) -> int:
    """The place of a row's entry, -1 for none."""
    place = places.get(row)
    return -1 if place is None else place


def _bad(outcome: RowOutcome) -> bool:
    return outcome.status is RowStatus.ERROR


def _told(
    repos: Repos, checked: Checked, entries: Entries, asked: set[int]
) -> dict[int, RowStatus]:
    """UPDATED or UNCHANGED for the entries at these places (of taxa the list has)."""
    if not asked:
        return {}
    read = [(i, entry) for i, entry in _placed(entries(), checked.file) if i in asked]
    taxa = repos.taxa.taxa.by_ids([checked.tree.taxon_ids[checked.nodes[i]] for i, _ in read])
    told = {}
    for i, entry in read:
        taxon = taxa[checked.tree.taxon_ids[checked.nodes[i]]]
        changed = changes(entry, checked.parent_id(i), taxon)
        told[i] = RowStatus.UPDATED if changed else RowStatus.UNCHANGED
    return told


def store_entries(repos: Repos, list_id: int, entries: Sequence[TaxonEntry]) -> None:
    """Store entries held whole into a list (seeding one, as the benchmarks do), numbered
    again in their order as the rows of a file.

    Raises:
        ValueError: an entry has a problem (the first is named).
    """
    entries = [replace(entry, row=row) for row, entry in enumerate(entries, start=1)]
    checked = check_file(repos, list_id, FileOutline.of(entries), ())
    if checked.problems:
        i = min(checked.problems)
        raise ValueError(f"row {entries[i].row}: {checked.problem(i)}")
    store_checked(repos, list_id, checked, lambda: entries)
