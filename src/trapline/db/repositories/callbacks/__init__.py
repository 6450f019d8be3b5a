"""Callbacks (SQL): analyses a caller asks for and receives back (the callback API)."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.orm import Session

from trapline.db.repositories.callbacks.callbacks import CallbackRepo


class CallbackRepos:
    """Callbacks's repositories in one transaction, each made when first used."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @cached_property
    def callbacks(self) -> CallbackRepo:
        return CallbackRepo(self._session)


__all__ = ["CallbackRepos"]
