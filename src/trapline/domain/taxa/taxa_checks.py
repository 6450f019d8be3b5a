"""Checking a taxa file's entries against each other and against the list they go into.

A taxon is known by its key, its name (any case) at its rank. An entry adds the taxon of its
key, or updates the list's taxon of that key. A blank cell leaves the list's value as it is:
an entry without a parent keeps the taxon's parent, without an id keeps its id, and its
vernacular names replace those of their languages only. So an import adds and changes, and
never removes.

The check works on outlines (``taxa_outline``): names, ranks and parents, each taxon a node
of a tree (the list's taxa first, then those the entries add), nodes and entries numbers in
arrays. Whether an entry changes the list's taxon of its key (``changes``) is told when the
entry is read again to be stored.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from trapline.domain.taxa.taxa import RowOutcome, RowStatus, Taxon, TaxonEntry
from trapline.domain.taxa.taxa_outline import RANKS, FileOutline, ListOutline, folded

#: The most names a cycle's message shows.
_CYCLE_SHOWN = 8
#: The problem of an entry on a cycle of parents, until its message is asked for.
ON_CYCLE = "on a cycle of parents"


@dataclass
class Tree:
    """The list's taxa with the entries laid over them, as nodes: the list's taxa first (as
    many as ``known``), then the taxa the entries add."""

    names: list[str]
    ranks: bytearray
    #: Each node's parent node, -1 for none.
    parents: array[int]
    #: Each node's taxon id, 0 while it has none (a taxon the import adds).
    taxon_ids: array[int]
    #: The place of the first entry of each node's key, -1 for none.
    first: array[int]
    #: The nodes of each folded name, one a rank (most names have one: a node, not a tuple).
    by_name: dict[str, int | tuple[int, ...]]
    #: How many nodes are the list's taxa.
    known: int

    @classmethod
    def of(cls, taxa: ListOutline) -> Tree:
        count = len(taxa)
        tree = cls(
            list(taxa.names), bytearray(taxa.ranks), array("i", [-1]) * count,
            array("q", taxa.ids), array("i", [-1]) * count, {}, count,
        )  # fmt: skip
        node_of = {taxon_id: node for node, taxon_id in enumerate(taxa.ids)}
        for node, name in enumerate(taxa.names):
            tree._name(folded(name), node)
            tree.parents[node] = node_of.get(taxa.parent_ids[node], -1)
        return tree

    def nodes_named(self, key: str) -> tuple[int, ...]:
        found = self.by_name.get(key, ())
        return (found,) if isinstance(found, int) else found

    def find(self, key: str, rank: int) -> int:
        """The node of a folded name at a rank's number, -1 for none."""
        return next((n for n in self.nodes_named(key) if self.ranks[n] == rank), -1)

    def add(self, name: str, key: str, rank: int) -> int:
        node = len(self.names)
        self.names.append(name)
        self.ranks.append(rank)
        self.parents.append(-1)
        self.taxon_ids.append(0)
        self.first.append(-1)
        self._name(key, node)
        return node

    def _name(self, key: str, node: int) -> None:
        found = self.by_name.get(key)
        self.by_name[key] = node if found is None else (*self.nodes_named(key), node)


@dataclass
class Checked:
    """What the check found: each entry's node and parent node, and the entries' problems."""

    file: FileOutline
    tree: Tree
    #: Each entry's node.
    nodes: array[int]
    #: The node of the parent each entry names, -1 when it names none or it was not found.
    parents: array[int]
    #: Why an entry cannot be imported, by its place (``ON_CYCLE`` for an entry on a cycle of
    #: parents: its message is made when asked for, ``problem``).
    problems: dict[int, str]
    #: The cycles of parents the check found.
    cycles: Cycles | None = None

    def problem(self, i: int) -> str | None:
        """Why entry ``i`` cannot be imported; None when it can."""
        found = self.problems.get(i)
        if found is ON_CYCLE and self.cycles is not None:
            return self.cycles.message(self.nodes[i], self.tree.names)
        return found

    def status(self, i: int) -> RowStatus | None:
        """ERROR or ADDED; None for an entry of a taxon of the list (UPDATED or UNCHANGED, as
        ``changes`` tells)."""
        if i in self.problems:
            return RowStatus.ERROR
        return RowStatus.ADDED if self.nodes[i] >= self.tree.known else None

    def parent_id(self, i: int) -> int | None:
        """The taxon id of the parent entry ``i`` names (0 while it has none), None when it
        names none."""
        parent = self.parents[i]
        return None if parent < 0 else self.tree.taxon_ids[parent]


def check(file: FileOutline, taxa: ListOutline, unreadable: Sequence[RowOutcome] = ()) -> Checked:
    """Check a file's entries against each other and against the list's taxa.

    Args:
        file: The entries a taxa file gave, in its order.
        taxa: The taxa of the list now.
        unreadable: The outcomes of the file's rows that could not be read: an entry whose
            parent is one of them is told so, rather than that its parent is missing.
    """
    tree = Tree.of(taxa)
    count = len(file)
    checked = Checked(file, tree, array("i", [0]) * count, array("i", [-1]) * count, {})
    for i in range(count):
        checked.nodes[i] = _node(checked, i)
    _find_parents(checked, unreadable)
    _check_parents(checked)
    if checked.problems:
        _inherit_problems(checked)
    return checked


def _node(checked: Checked, i: int) -> int:
    """The node of an entry's key (added when the list has none), a problem when an earlier
    entry has the key."""
    file, tree = checked.file, checked.tree
    key = folded(file.names[i])
    node = tree.find(key, file.ranks[i])
    if node < 0:
        node = tree.add(file.names[i], key, file.ranks[i])
    earlier = tree.first[node]
    if earlier >= 0:
        checked.problems[i] = (
            f"duplicate: row {file.rows[earlier]} already names {file.names[earlier]} at rank "
            f"{file.rank(i)}"
        )
    else:
        tree.first[node] = i
        tree.names[node] = file.names[i]
    return node


def _find_parents(checked: Checked, unreadable: Sequence[RowOutcome]) -> None:
    """Find each entry's parent, laid over the tree; an entry whose parent cannot be found
    gets a problem instead."""
    file, tree, problems = checked.file, checked.tree, checked.problems
    unread: dict[str, int] | None = None
    for i in range(len(file)):
        name = file.parent_names[i]
        if name is None or i in problems:
            continue
        found = _resolve(tree, name, file.parent_ranks[i])
        if isinstance(found, int):
            checked.parents[i] = found
            tree.parents[checked.nodes[i]] = found
            continue
        if unread is None:
            unread = {o.name.casefold(): o.row for o in unreadable if o.status is RowStatus.ERROR}
        row = unread.get(name.casefold())
        problems[i] = found if row is None else _has_error(name, row)


def _resolve(tree: Tree, name: str, rank: int) -> int | str:
    """The node a parent reference names (``rank``: its rank's number plus one, 0 for none),
    or why there is none."""
    nodes = tree.nodes_named(folded(name))
    if rank:
        ranked = [node for node in nodes if tree.ranks[node] == rank - 1]
        return ranked[0] if ranked else f"parent missing: {name} ({RANKS[rank - 1]})"
    if not nodes:
        return f"parent missing: {name}"
    if len(nodes) > 1:
        return f"parent {name} is ambiguous: give parent_rank"
    return nodes[0]


def _has_error(name: str, row: int) -> str:
    return f"parent {name} has an error (row {row})"


def _check_parents(checked: Checked) -> None:
    """A problem for each entry on a cycle of parents, else whose parent does not rank above
    it: a cycle breaks the rank rule too, and is the problem to tell."""
    file, tree = checked.file, checked.tree
    cycles = checked.cycles = Cycles.of(tree.parents)
    for i, parent in enumerate(checked.parents):
        if parent < 0:
            continue
        rank, parent_rank = file.rank(i), RANKS[tree.ranks[parent]]
        if cycles.on(checked.nodes[i]):
            # One string for them all: a file may be 250,000 taxa on cycles, and only the
            # messages a refusal lists are made (``Checked.problem``).
            checked.problems[i] = ON_CYCLE
        elif parent_rank.level >= rank.level:
            checked.problems[i] = (
                f"parent {tree.names[parent]} ({parent_rank}) does not rank above "
                f"{file.names[i]} ({rank})"
            )


@dataclass(frozen=True)
class Cycles:
    """The cycles of a tree's parents, in arrays (a file of 250,000 rows may be one cycle, or
    250,000 taxa each its own parent): each cycle's nodes one after another in ``members``,
    and for each node on one, where its cycle starts there, how long it is and its place."""

    members: array[int]
    #: Per node: the start of its cycle in ``members``, -1 for a node on none.
    start: array[int]
    length: array[int]
    place: array[int]

    @classmethod
    def of(cls, parents: array[int]) -> Cycles:
        count = len(parents)
        cycles = cls(
            array("i"), array("i", [-1]) * count, array("i", [0]) * count, array("i", [0]) * count
        )
        #: The walk that reached each node (its start node), -1 for none yet.
        walked = array("i", [-1]) * count
        path = array("i")
        for first in range(count):
            if walked[first] >= 0:
                continue
            del path[:]
            node = first
            while node >= 0 and walked[node] < 0:
                walked[node] = first
                path.append(node)
                node = parents[node]
            if node >= 0 and walked[node] == first:  # this walk closed on itself
                loop = path[path.index(node) :]
                at = len(cycles.members)
                cycles.members.extend(loop)
                for place, member in enumerate(loop):
                    cycles.start[member], cycles.length[member] = at, len(loop)
                    cycles.place[member] = place
        return cycles

    def on(self, node: int) -> bool:
        """Whether the node lies on a cycle."""
        return self.start[node] >= 0

    def message(self, node: int, names: list[str]) -> str:
        """The message of the node's cycle ("cycle: A → B → A"), from the node's own name; a
        long cycle is cut short."""
        at, length, place = self.start[node], self.length[node], self.place[node]
        steps = min(length, _CYCLE_SHOWN)
        shown = [names[self.members[at + (place + step) % length]] for step in range(steps)]
        if length > _CYCLE_SHOWN:
            shown.append("…")
        return "cycle: " + " → ".join([*shown, names[node]])


def _inherit_problems(checked: Checked) -> None:
    """Mark each entry whose parent entry has a problem, down to the leaves."""
    file, first, problems = checked.file, checked.tree.first, checked.problems
    changed = True
    while changed:
        changed = False
        for i, parent in enumerate(checked.parents):
            if parent < 0 or i in problems:
                continue
            j = first[parent]
            if j >= 0 and j in problems:
                problems[i] = _has_error(file.names[j], file.rows[j])
                changed = True


def changes(entry: TaxonEntry, parent_id: int | None, taxon: Taxon) -> bool:
    """Whether the entry changes the list's taxon: something it gives differs (what it
    leaves blank is kept). ``parent_id``: the id of the parent it names (0 for a taxon not
    yet stored), None when it names none."""
    ids = ((entry.gbif_key, taxon.gbif_key), (entry.lsid, taxon.lsid))
    return (
        (parent_id is not None and parent_id != taxon.parent_id)
        or any(new is not None and new != old for new, old in ids)
        or (entry.source_id is not None and entry.source_id != taxon.source_id)
        or any(taxon.vernacular.get(lang) != name for lang, name in entry.vernacular.items())
    )


def check_entries(
    entries: list[TaxonEntry], existing: list[Taxon], unreadable: Sequence[RowOutcome] = ()
) -> list[RowOutcome]:
    """What importing each entry would do: ADDED, UPDATED, UNCHANGED, or ERROR and why, in
    the entries' order (``check`` on entries held whole, as the tests and small lists have
    them)."""
    checked = check(FileOutline.of(entries), ListOutline.of(existing), unreadable)
    by_id = {taxon.id: taxon for taxon in existing}
    outcomes = []
    for i, entry in enumerate(entries):
        status = checked.status(i)
        if status is None:
            taxon = by_id[checked.tree.taxon_ids[checked.nodes[i]]]
            changed = changes(entry, checked.parent_id(i), taxon)
            status = RowStatus.UPDATED if changed else RowStatus.UNCHANGED
        outcomes.append(RowOutcome(entry.row, entry.scientific_name, status, checked.problem(i)))
    return outcomes
