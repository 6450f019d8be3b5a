"""Checking a taxa file's entries against each other and against the list they go into, and
the order to insert them in.

A taxon is known by its key, its name (any case) at its rank. An entry adds the taxon of its
key, or updates the list's taxon of that key. A blank cell leaves the list's value as it is:
an entry without a parent keeps the taxon's parent, without an id keeps its id, and its
vernacular names replace those of their languages only. So an import adds and changes, and
never removes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from trapline.domain.taxa import ParentRef, Rank, RowOutcome, RowStatus, Taxon, TaxonEntry

#: A taxon's key: its name folded to lower case, and its rank.
Key = tuple[str, Rank]

#: The most names a cycle's message shows.
_CYCLE_SHOWN = 8


def taxon_key(taxon: Taxon) -> Key:
    return (taxon.scientific_name.casefold(), taxon.rank)


@dataclass
class _Tree:
    """The taxa of the list with the entries laid over them: names, and parents by key."""

    names: dict[Key, str]
    parent_of: dict[Key, Key | None]
    #: The keys of each name, one a rank: a tuple, not a set (most names have one rank, and a
    #: file may name 250,000); the keys of ``names`` themselves, so that a parent found shares
    #: its key rather than making another.
    keys_by_name: dict[str, tuple[Key, ...]]


def check_entries(
    entries: list[TaxonEntry], existing: list[Taxon], unreadable: Iterable[RowOutcome] = ()
) -> list[RowOutcome]:
    """What importing each entry would do: ADDED, UPDATED, UNCHANGED, or ERROR and why.

    Args:
        entries: The entries a taxa file gave, in its order.
        existing: The taxa of the list now.
        unreadable: The outcomes of the file's rows that could not be read: an entry whose
            parent is one of them is told so, rather than that its parent is missing.

    Returns:
        One outcome per entry, in the entries' order.
    """
    first, problems = _duplicates(entries)
    by_id = {taxon.id: taxon for taxon in existing}
    tree = _tree(entries, first, existing, by_id)
    parents = _find_parents(entries, tree, problems, unreadable)
    _check_parents(entries, parents, tree, problems)
    _inherit_problems(entries, first, parents, problems)
    by_key = {taxon_key(taxon): taxon for taxon in existing}
    return [
        _outcome(entry, problems.get(i), parents.get(i), by_key, by_id)
        for i, entry in enumerate(entries)
    ]


def _duplicates(entries: list[TaxonEntry]) -> tuple[dict[Key, int], dict[int, str]]:
    """The first entry of each key, and the problems of the later ones, by place."""
    first: dict[Key, int] = {}
    problems: dict[int, str] = {}
    for i, entry in enumerate(entries):
        earlier = entries[first.setdefault(entry.key, i)]
        if earlier is not entry:
            problems[i] = (
                f"duplicate: row {earlier.row} already names {earlier.scientific_name} at rank "
                f"{entry.rank}"
            )
    return first, problems


def _find_parents(
    entries: list[TaxonEntry],
    tree: _Tree,
    problems: dict[int, str],
    unreadable: Iterable[RowOutcome],
) -> dict[int, Key]:
    """The key of each entry's parent, by the entry's place; laid over the tree. An entry
    whose parent cannot be found gets a problem instead."""
    unread = {o.name.casefold(): o.row for o in unreadable if o.status is RowStatus.ERROR}
    parents: dict[int, Key] = {}
    for i, entry in enumerate(entries):
        if i in problems or entry.parent is None:
            continue
        found = _resolve(entry.parent, tree.keys_by_name)
        if isinstance(found, str):
            row = unread.get(entry.parent.name.casefold())
            problems[i] = found if row is None else _has_error(entry.parent.name, row)
        else:
            parents[i] = found
            tree.parent_of[entry.key] = found
    return parents


def _check_parents(
    entries: list[TaxonEntry], parents: Mapping[int, Key], tree: _Tree, problems: dict[int, str]
) -> None:
    """A problem for each entry on a cycle of parents, else whose parent does not rank above
    it: a cycle breaks the rank rule too, and is the problem to tell."""
    cycles = _cycles(tree.parent_of)
    for i, parent in parents.items():
        entry = entries[i]
        if entry.key in cycles:
            problems[i] = _cycle_message(cycles[entry.key], tree.names)
        elif parent[1].level >= entry.rank.level:
            problems[i] = (
                f"parent {tree.names[parent]} ({parent[1]}) does not rank above "
                f"{entry.scientific_name} ({entry.rank})"
            )


def _tree(
    entries: list[TaxonEntry],
    first: Mapping[Key, int],
    existing: list[Taxon],
    by_id: Mapping[int, Taxon],
) -> _Tree:
    names = {taxon_key(taxon): taxon.scientific_name for taxon in existing}
    parent_of = {taxon_key(taxon): _parent_key(taxon, by_id) for taxon in existing}
    for key, i in first.items():
        names[key] = entries[i].scientific_name
        parent_of.setdefault(key, None)
    keys_by_name: dict[str, tuple[Key, ...]] = {}
    for key in names:
        keys_by_name[key[0]] = (*keys_by_name.get(key[0], ()), key)
    return _Tree(names, parent_of, keys_by_name)


def _parent_key(taxon: Taxon, by_id: Mapping[int, Taxon]) -> Key | None:
    """The key of a taxon's parent in the list, None for a root."""
    parent = by_id.get(taxon.parent_id) if taxon.parent_id is not None else None
    return taxon_key(parent) if parent is not None else None


def _resolve(ref: ParentRef, keys_by_name: Mapping[str, tuple[Key, ...]]) -> Key | str:
    """The key of the taxon a parent reference names, or why there is none."""
    keys = keys_by_name.get(ref.name.casefold(), ())
    if ref.rank is not None:
        ranked = [key for key in keys if key[1] is ref.rank]
        return ranked[0] if ranked else f"parent missing: {ref.name} ({ref.rank})"
    if not keys:
        return f"parent missing: {ref.name}"
    if len(keys) > 1:
        return f"parent {ref.name} is ambiguous: give parent_rank"
    return keys[0]


def _has_error(name: str, row: int) -> str:
    return f"parent {name} has an error (row {row})"


def _cycles(parent_of: Mapping[Key, Key | None]) -> dict[Key, tuple[list[Key], int]]:
    """Each key that lies on a cycle of parents: the cycle, and the key's place in it."""
    done: set[Key] = set()
    found: dict[Key, tuple[list[Key], int]] = {}
    for start in parent_of:
        path: dict[Key, int] = {}
        node: Key | None = start
        while node is not None and node not in done and node not in path:
            path[node] = len(path)
            node = parent_of.get(node)
        if node is not None and node in path:
            loop = list(path)[path[node] :]
            found.update({key: (loop, place) for place, key in enumerate(loop)})
        done.update(path)
    return found


def _cycle_message(cycle: tuple[list[Key], int], names: Mapping[Key, str]) -> str:
    """The message of a cycle ("cycle: A → B → A"), from the entry's own name; a long
    cycle is cut short."""
    loop, place = cycle
    steps = min(len(loop), _CYCLE_SHOWN)
    shown = [names[loop[(place + step) % len(loop)]] for step in range(steps)]
    if len(loop) > _CYCLE_SHOWN:
        shown.append("…")
    return "cycle: " + " → ".join([*shown, names[loop[place]]])


def _inherit_problems(
    entries: list[TaxonEntry],
    first: Mapping[Key, int],
    parents: Mapping[int, Key],
    problems: dict[int, str],
) -> None:
    """Mark each entry whose parent entry has a problem, down to the leaves."""
    changed = True
    while changed:
        changed = False
        for i, parent in parents.items():
            j = first.get(parent)
            if i not in problems and j is not None and j in problems:
                problems[i] = _has_error(entries[j].scientific_name, entries[j].row)
                changed = True


def _outcome(
    entry: TaxonEntry,
    problem: str | None,
    parent: Key | None,
    by_key: Mapping[Key, Taxon],
    by_id: Mapping[int, Taxon],
) -> RowOutcome:
    taxon = by_key.get(entry.key)
    if problem is not None:
        status = RowStatus.ERROR
    elif taxon is None:
        status = RowStatus.ADDED
    elif _changes(entry, parent, taxon, by_id):
        status = RowStatus.UPDATED
    else:
        status = RowStatus.UNCHANGED
    return RowOutcome(entry.row, entry.scientific_name, status, problem)


def _changes(
    entry: TaxonEntry, parent: Key | None, taxon: Taxon, by_id: Mapping[int, Taxon]
) -> bool:
    """Whether the entry changes the list's taxon: something it gives differs (what it
    leaves blank is kept)."""
    ids = ((entry.gbif_key, taxon.gbif_key), (entry.lsid, taxon.lsid))
    return (
        (parent is not None and parent != _parent_key(taxon, by_id))
        or any(new is not None and new != old for new, old in ids)
        or (entry.source_id is not None and entry.source_id != taxon.source_id)
        or any(taxon.vernacular.get(lang) != name for lang, name in entry.vernacular.items())
    )


def parents_first(entries: list[TaxonEntry]) -> list[TaxonEntry]:
    """The entries in an order where each comes after its parent (when that is an entry too),
    and otherwise in the order given."""
    by_name: dict[str, list[int]] = {}
    for i, entry in enumerate(entries):
        by_name.setdefault(entry.key[0], []).append(i)

    def parents(i: int) -> list[int]:
        ref = entries[i].parent
        if ref is None:
            return []
        named = by_name.get(ref.name.casefold(), [])
        return [j for j in named if j != i and ref.rank in (None, entries[j].rank)]

    order: list[TaxonEntry] = []
    # By place: 0 until an entry is met, 1 while it waits for its parents, 2 once it is placed.
    state = bytearray(len(entries))
    for start in range(len(entries)):
        stack = [start]
        while stack:
            i = stack[-1]
            if state[i] == 2:
                stack.pop()
                continue
            waiting = [j for j in parents(i) if not state[j]] if not state[i] else []
            state[i] = 1
            if waiting:
                stack.extend(reversed(waiting))
                continue
            state[i] = 2
            order.append(entries[i])
            stack.pop()
    return order
