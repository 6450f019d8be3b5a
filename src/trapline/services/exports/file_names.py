"""The file names a project's photos take in exports (``exports/file_names.py`` holds the
rule), read before an export's first batch: the names the database finds more than one photo
of a deployment holding, and the few photos it cannot judge by their names alone, judged
here.
"""

from __future__ import annotations

from collections import defaultdict

from trapline.db.repositories import Repos
from trapline.db.repositories.exports.same_names import NamedPhoto, NameScope, SameNameRepo
from trapline.exports.file_names import FileNames, new_name, own_name, renamed_from


def file_names(repos: Repos, scope: NameScope) -> FileNames:
    """The file names of the scope's photos: a grouping of their names (a scan of them), a
    read of the odd ones, and where a name is shared a read of the photos named as another's
    new name would be; then the photos of all these that take new names though their keys
    are not shared, found by reading the photos holding their names."""
    reads = repos.exports.same_names
    shared = FileNames(reads.shared_keys(scope))
    photos = reads.odd(scope)
    if shared.shared:
        photos += reads.named_as_new_names(scope, {d for d, _ in shared.shared})
    if not photos:
        return shared
    return FileNames(shared.shared, _renamed(reads, scope, shared, photos))


def _renamed(
    reads: SameNameRepo, scope: NameScope, shared: FileNames, first: list[NamedPhoto]
) -> set[int]:
    """The photos (of ``first`` and those read on the way) that take new names though the
    database's keys do not share theirs: another photo holds their name, as its own name or
    as its new one. Every name held is looked for among the photos not read yet, until
    nothing new turns up (once or twice: these are the few odd names, and names of the form
    of a new name)."""
    photos = {i: (d, f) for i, d, f in first}
    renamed: set[int] = set()
    asked: set[tuple[int, str]] = set()
    while True:
        holders: dict[tuple[int, str], set[int]] = defaultdict(set)
        own_keys: dict[int, str] = {}
        for i, (d, f) in photos.items():
            name = own_name(f, i)
            own_keys[i] = name.casefold()
            holders[d, own_keys[i]].add(i)
            if i in renamed or shared.takes_new_name(i, d, f):
                holders[d, new_name(name, i).casefold()].add(i)
        more = {i for (d, key), ids in holders.items() if len(ids) > 1
                for i in ids if own_keys[i] == key} - renamed  # fmt: skip
        renamed |= more
        # A name in ASCII may be a plain name's (any other name is an odd one, all read).
        ask = {(d, key) for d, key in holders if key.isascii()} - asked
        asked |= ask
        found = reads.named(scope, ask) if ask else []
        # A photo whose shared key makes a new name asked for holds it.
        holding = {
            n for d, key in ask if (was := renamed_from(key)) is not None
            for name, n in [was] if (d, name) in shared.shared
        }  # fmt: skip
        found += reads.of_ids(scope, holding - photos.keys()) if holding else []
        added = {i: (d, f) for i, d, f in found if i not in photos}
        photos |= added
        if not more and not added:
            return renamed
