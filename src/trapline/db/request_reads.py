"""One web page's reads in one session: a page calls several services, each reading in a
block of its own; sharing the session between them saves a connection checkout and a
transaction a block, and rows one block loaded (the project its access check read, say) are
found again without a query. A write ends the shared session, so reads after it see it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any, Protocol

from sqlalchemy import event

from trapline.db.repositories import Repos


class Transactions(Protocol):
    """What a request's reads are made of: ``Database``'s transactions."""

    def read(self) -> AbstractContextManager[Repos]: ...
    def write(self) -> AbstractContextManager[Repos]: ...
    def statement(self) -> AbstractContextManager[Repos]: ...


class RequestReads:
    """A ``Database`` for one request (same methods): ``read`` blocks share a session until
    ``write``, ``statement`` or ``close``; after ``close`` (the request answered) each block
    has its own again, as for a response streamed later."""

    def __init__(self, db: Transactions) -> None:
        self._db = db
        self._shared: ExitStack | None = None
        self._repos: Repos | None = None
        self._closed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    @contextmanager
    def read(self) -> Iterator[Repos]:
        """The request's read session (opened by its first read)."""
        if self._closed:
            with self._db.read() as repos:
                yield repos
            return
        if self._repos is None:
            opened = ExitStack()
            self._repos = opened.enter_context(self._db.read())
            self._shared = opened
            # A session holds the rows it loaded weakly: once a block has turned them into
            # records they would be gone, and the next block's ``get`` would ask again.
            # Nothing writes in this session, so keeping them keeps nothing stale.
            kept: list[object] = []
            event.listen(
                self._repos.session, "loaded_as_persistent", lambda _, row: kept.append(row)
            )
        try:
            yield self._repos
        except BaseException:
            # The session ends as a block of its own would, with what went wrong (a lost
            # connection answers Unavailable); the next read opens another.
            shared, self._shared, self._repos = self._shared, None, None
            if shared is None or not shared.__exit__(*sys.exc_info()):
                raise

    def write(self) -> AbstractContextManager[Repos]:
        """A writing transaction of its own; the reads after it start afresh."""
        self._end()
        return self._db.write()

    def statement(self) -> AbstractContextManager[Repos]:
        """As ``Database.statement``; the reads after it start afresh."""
        self._end()
        return self._db.statement()

    def close(self) -> None:
        """The request is answered: end the shared session."""
        self._closed = True
        self._end()

    def _end(self) -> None:
        shared, self._shared, self._repos = self._shared, None, None
        if shared is not None:
            shared.close()
