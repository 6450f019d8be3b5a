"""The reads behind the file names photos take in exports (``exports/file_names.py`` holds the
rule; docs/exports.md, "Paths"): which names more than one photo of a deployment has, read up
front in a grouping of the project's images, and the few photos the caller names itself.

SQL compares names by their *key* (``file_names.name_key``): the name with its slashes as
``_``, its ASCII letters in lower case, the same on SQLite and PostgreSQL. For a *plain* name
(printable ASCII, no ``..``, not starting with ``.``, ``~`` or a space nor ending with a
space, not empty) that is the name the exports give it, in one case. Other names, *odd*
ones, are read as they are for the caller to name (a project has a few, if any).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    case,
    cast,
    collate,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from trapline.db.tables import ImageRow
from trapline.db.types import chunks

#: A photo as the caller names it: id, deployment id (0 for none) and file name.
NamedPhoto = tuple[int, int, str]
#: (deployment, key) pairs in one ``IN`` (two parameters each; SQLite takes 32,766).
_KEYS_AT_ONCE = 5_000


@dataclass(frozen=True)
class NameScope:
    """The photos whose names are compared: a project's, or one deployment's; up to
    ``max_image_id`` when given (an export's)."""

    project_id: int
    deployment_id: int | None = None
    max_image_id: int | None = None


class SameNameRepo:
    """Photos' names compared within their deployments."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._sqlite = session.get_bind().dialect.name == "sqlite"

    def shared_keys(self, scope: NameScope) -> Iterator[tuple[int, str]]:
        """(deployment, key) of each key more than one photo of a deployment has: one scan of
        the scope's images, grouped."""
        key = self._key(ImageRow)
        found = self.session.execute(
            select(_deployment(ImageRow).label("deployment"), key.label("key"))
            .where(*_terms(scope, ImageRow))
            # by the labels: PostgreSQL takes the expressions, bound anew, for others
            .group_by("deployment", "key")
            .having(func.count() > 1)
        )
        for deployment, shared in found:
            yield int(deployment), str(shared)

    def odd(self, scope: NameScope) -> list[NamedPhoto]:
        """The photos with odd names (one scan of the scope's images)."""
        name = ImageRow.filename
        unprintable = name.op("GLOB")("*[^ -~]*") if self._sqlite else name.op("~")("[^ -~]")
        odd = or_(
            name == "", unprintable, name.contains(".."), name.startswith("."),
            name.startswith("~"), name.startswith(" "), name.endswith(" "),
        )  # fmt: skip
        return self._photos(select(*_named(ImageRow)).where(*_terms(scope, ImageRow), odd))

    def named_as_new_names(
        self, scope: NameScope, deployments: Collection[int]
    ) -> list[NamedPhoto]:
        """The photos of these deployments (0: none) whose key is ``<key>-<id><ext>`` where
        photo ``<id>``, of their deployment, has the key ``<key><ext>``: the key of that
        photo's new name (``file_names.new_name``), should it take one. One scan of their
        names with a ``-``, each such name's photo ``<id>`` looked up by its id."""
        x, p = ImageRow, aliased(ImageRow)
        name_length, id_text = func.length(x.filename), cast(p.id, String)
        return self._photos(
            select(*_named(x))
            .join(p, p.id == self._id_in(x.filename))
            .where(
                *_terms(scope, x),
                *_terms(scope, p),
                _deployment(x).in_(sorted(deployments)),
                x.filename.contains("-"),  # a new name has one: the others pass at once
                name_length == func.length(p.filename) + func.length(id_text) + 1,
                _deployment(p) == _deployment(x),
                self._key(x) == _new_key(self._key(p), id_text),
            )
        )

    def named(self, scope: NameScope, keys: Collection[tuple[int, str]]) -> list[NamedPhoto]:
        """The photos whose (deployment, key) is one of ``keys`` (a scan of the scope's images
        for each 5,000)."""
        ordered, row = sorted(keys), ImageRow
        found: list[NamedPhoto] = []
        for at in range(0, len(ordered), _KEYS_AT_ONCE):
            among = tuple_(_deployment(row), self._key(row)).in_(ordered[at : at + _KEYS_AT_ONCE])
            found += self._photos(select(*_named(row)).where(*_terms(scope, row), among))
        return found

    def of_ids(self, scope: NameScope, ids: Collection[int]) -> list[NamedPhoto]:
        """These photos, of those of the scope."""
        found: list[NamedPhoto] = []
        for among in chunks(sorted(ids)):
            query = select(*_named(ImageRow)).where(
                *_terms(scope, ImageRow), ImageRow.id.in_(among)
            )
            found += self._photos(query)
        return found

    def _photos(self, query: Any) -> list[NamedPhoto]:
        return [(int(i), int(d), str(f)) for i, d, f in self.session.execute(query)]

    def _key(self, row: Any) -> ColumnElement[str]:
        """A photo's key. SQLite's ``lower`` changes ASCII letters only, PostgreSQL's does
        so in the C collation."""
        name = row.filename if self._sqlite else collate(row.filename, "C")
        slashes = func.replace(func.replace(name, "/", "_", type_=String), "\\", "_")
        return func.lower(slashes, type_=String)

    def _id_in(self, name: InstrumentedAttribute[str]) -> ColumnElement[int]:
        """The number a name has between its last ``-`` and its extension (its last ``.`` and
        what follows), if any: the photo id a new name holds."""
        if not self._sqlite:
            number = func.substring(name, r"-([0-9]{1,18})(?:\.[^.]*)?$", type_=String)
            return cast(number, BigInteger)
        # ``rtrim`` of a text by its characters but one leaves it up to that one's last
        # place ("" without it); SQLite's cast reads the digits a text starts with (0 for
        # none).
        dot = func.rtrim(name, func.replace(name, ".", ""))
        stem = case((dot == "", name), else_=func.substr(name, 1, func.length(dot) - 1))
        dash = func.rtrim(stem, func.replace(stem, "-", ""))
        return cast(func.substr(stem, func.length(dash) + 1), Integer)


def _named(row: Any) -> tuple[Any, ...]:
    """A photo's columns as the caller names it."""
    return row.id, _deployment(row), row.filename


def _terms(scope: NameScope, row: Any) -> list[ColumnElement[bool]]:
    terms = [row.project_id == scope.project_id]
    if scope.max_image_id is not None:
        terms.append(row.id <= scope.max_image_id)
    if scope.deployment_id is not None:
        terms.append(row.deployment_id == scope.deployment_id)
    return terms


def _deployment(row: Any) -> ColumnElement[int]:
    return func.coalesce(row.deployment_id, 0)


def _new_key(key: ColumnElement[str], id_text: ColumnElement[str]) -> ColumnElement[str]:
    """The key of a new name (``file_names.new_name``) from a plain name's key and its
    photo's id: ``-<id>`` before the key's last ``.``, or at its end without one."""
    dot = func.rtrim(key, func.replace(key, ".", "", type_=String), type_=String)
    at = func.length(dot)
    tag = literal("-", String) + id_text
    inside = func.substr(key, 1, at - 1, type_=String) + tag + func.substr(key, at, type_=String)
    return case((dot == "", key + tag), else_=inside)
