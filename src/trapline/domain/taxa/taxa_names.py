"""A list of names typed or pasted, one a line, made into the entries of a taxa import: each
name the list has is matched to its taxon (keeping its rank and parent), each other one is
added at the rank the person chose, under its genus (or species) when the list or the pasted
list has it. Bounded as a taxa file is (``taxa_rows``).

A line may end with a rank in brackets, ``Ardea (genus)``: it picks among taxa of one name at
several ranks, and gives a new name its own rank. Other brackets are part of the name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from trapline.domain.core.formulas import unmarked
from trapline.domain.core.text import NOT_ONE_LINE
from trapline.domain.taxa.taxa import MAX_NAME, ParentRef, Rank, RowOutcome, RowStatus, TaxonEntry
from trapline.domain.taxa.taxa_outline import RANKS, ListOutline, folded, rank_number
from trapline.domain.taxa.taxa_rows import MAX_TAXA_ROWS, TaxaFileInvalid, check_size, is_formula

#: A line that ends with a word in brackets: the name, then what may be its rank.
_RANKED = re.compile(r"^(?P<name>.+?)\s*\((?P<rank>[A-Za-z]+)\)$")
#: The ranks a new name is put under its genus at (the first word of its name), and those put
#: under its species (the first two words).
_UNDER_GENUS = (Rank.SPECIES, Rank.MORPHOSPECIES)
_UNDER_SPECIES = (Rank.SUBSPECIES,)


@dataclass(frozen=True, slots=True)
class TypedName:
    """A line of the list: its number (1 is the first line), the name, the rank it gives."""

    line: int
    name: str
    rank: Rank | None


def read_names(text: str) -> Iterator[TypedName | RowOutcome]:
    """The list's lines that are not blank, each as a name or as the ERROR outcome saying why
    it cannot be one.

    Raises:
        TaxaFileInvalid: the list is longer than a taxa file may be, or has more names.
    """
    check_size(len(text.encode("utf-8", "surrogatepass")), "the list is")
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        count += 1
        if count > MAX_TAXA_ROWS:
            raise TaxaFileInvalid(
                f"the list has more than {MAX_TAXA_ROWS:,} names; it may have at most "
                f"{MAX_TAXA_ROWS:,}: split it"
            )
        yield _typed(number, line)


def _typed(number: int, line: str) -> TypedName | RowOutcome:
    text = unmarked(line.strip())
    shown = text[:MAX_NAME]
    if "\t" in text:
        return RowOutcome(number, shown, RowStatus.ERROR, "a tab: give one name a line, alone")
    if NOT_ONE_LINE.search(text):
        problem = "control or invisible characters: type the name again"
        return RowOutcome(number, shown, RowStatus.ERROR, problem)
    if is_formula(text):
        return RowOutcome(number, shown, RowStatus.ERROR, "a formula: not imported")
    rank = None
    ranked = _RANKED.match(text)
    if ranked:
        word = ranked["rank"].lower()
        rank = next((r for r in Rank if r.value == word), None)
        text = ranked["name"] if rank else text
    if len(text) > MAX_NAME:
        problem = f"the name is {len(text)} characters long; it may have at most {MAX_NAME}"
        return RowOutcome(number, shown, RowStatus.ERROR, problem)
    return TypedName(number, text, rank)


def name_entries(
    typed: Iterator[TypedName | RowOutcome], taxa: ListOutline, rank: Rank
) -> list[TaxonEntry | RowOutcome]:
    """The import's entries of a list's lines, in their order: a name of the list's is its
    taxon (an entry without parent, which keeps it where it is: UNCHANGED), another is added at
    ``rank`` or the one its line gives. A name of several taxa of the list with no rank, or a
    name given twice, is an ERROR outcome."""
    known: dict[str, list[int]] = {}
    for node, name in enumerate(taxa.names):
        known.setdefault(folded(name), []).append(node)
    lines = list(typed)
    added: dict[tuple[str, Rank], str] = {}
    found: list[TaxonEntry | RowOutcome | tuple[TypedName, Rank]] = []
    seen: dict[tuple[str, Rank], int] = {}
    for each in lines:
        if isinstance(each, RowOutcome):
            found.append(each)
            continue
        key = folded(each.name)
        nodes = [n for n in known.get(key, ()) if each.rank in (None, RANKS[taxa.ranks[n]])]
        if len(nodes) > 1:
            ranks = ", ".join(sorted(RANKS[taxa.ranks[n]].value for n in nodes))
            problem = (
                f"the list has {len(nodes)} taxa of this name ({ranks}): add the rank in "
                f"brackets, as {each.name} ({RANKS[taxa.ranks[nodes[0]]].value})"
            )
            found.append(RowOutcome(each.line, each.name, RowStatus.ERROR, problem))
            continue
        at = RANKS[taxa.ranks[nodes[0]]] if nodes else each.rank or rank
        name = taxa.names[nodes[0]] if nodes else each.name
        earlier = seen.setdefault((key, at), each.line)
        if earlier != each.line:
            problem = f"given twice: line {earlier} names it already"
            found.append(RowOutcome(each.line, each.name, RowStatus.ERROR, problem))
            continue
        if nodes:
            found.append(TaxonEntry(each.line, name, at, None))
        else:
            added[(key, at)] = name
            found.append((each, at))
    return [
        TaxonEntry(f[0].line, f[0].name, f[1], _parent(f[0].name, f[1], known, taxa, added))
        if isinstance(f, tuple)
        else f
        for f in found
    ]


def _parent(
    name: str,
    rank: Rank,
    known: dict[str, list[int]],
    taxa: ListOutline,
    added: dict[tuple[str, Rank], str],
) -> ParentRef | None:
    """The genus of a new species (the first word of its name), or the species of a new
    subspecies (the first two), when the list has it or the pasted list adds it."""
    words = name.split()
    if rank in _UNDER_GENUS and len(words) >= 2:
        above, above_rank = words[0], Rank.GENUS
    elif rank in _UNDER_SPECIES and len(words) >= 3:
        above, above_rank = " ".join(words[:2]), Rank.SPECIES
    else:
        return None
    key = folded(above)
    number = rank_number(above_rank)
    listed = next((n for n in known.get(key, ()) if taxa.ranks[n] == number), None)
    if listed is not None:
        return ParentRef(taxa.names[listed], above_rank)
    if (key, above_rank) in added:
        return ParentRef(added[(key, above_rank)], above_rank)
    return None
