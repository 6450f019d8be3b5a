"""Project roles and what each may do."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A member's role in a project; each role may do everything the ones before it may."""

    VIEWER = "viewer"
    MEMBER = "member"
    MANAGER = "manager"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        """Position in the order viewer < member < manager < owner."""
        return _ORDER.index(self)

    def allows(self, needed: Role) -> bool:
        """Whether this role includes the rights of ``needed``."""
        return self.rank >= needed.rank


_ORDER = (Role.VIEWER, Role.MEMBER, Role.MANAGER, Role.OWNER)
