"""Per-project callback secrets: made by managers, shown once, stored encrypted, revocable."""

from __future__ import annotations

import secrets

from trapline.db.engine import Database
from trapline.db.types import utcnow
from trapline.domain.callbacks.callbacks import CallbackSecret
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.errors import NotFound
from trapline.services.core.access import project_for
from trapline.services.core.sealed import SealedBox

#: Visible prefix of a callback secret, as ``tl_`` is of API tokens.
SECRET_PREFIX = "tlcb_"  # noqa: S105 - a prefix, not a secret


class SecretBox:
    """Callback secrets sealed at rest, each bound to its key id (a sealed secret moved to
    another row does not open)."""

    def __init__(self, server_secret: bytes) -> None:
        self._box = SealedBox(server_secret, b"trapline callback secrets v1")

    def seal(self, key_id: str, secret: str) -> str:
        """The secret encrypted for storage."""
        return self._box.seal(secret.encode(), bound_to=key_id.encode())

    def open(self, key_id: str, sealed: str) -> bytes | None:
        """The secret, or None when it cannot be opened (another server key, a moved row)."""
        return self._box.open(sealed, bound_to=key_id.encode())


def create_secret(
    db: Database, box: SecretBox, caller: User, project_id: int, name: str
) -> tuple[CallbackSecret, str]:
    """A new callback secret for the project (managers); its value is returned only here."""
    key_id = "cb_" + secrets.token_hex(8)
    value = SECRET_PREFIX + secrets.token_urlsafe(32)
    with db.write() as repos:
        project_for(repos, caller, project_id, Role.MANAGER)
        made = repos.callbacks.callbacks.add_secret(
            project_id, key_id, name, box.seal(key_id, value), caller.id, utcnow()
        )
    return made, value


def list_secrets(db: Database, caller: User, project_id: int) -> list[CallbackSecret]:
    """A project's callback secrets, without their values (managers)."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.MANAGER)
        return repos.callbacks.callbacks.secrets(project_id)


def revoke_secret(db: Database, caller: User, project_id: int, secret_id: int) -> None:
    """Revoke a callback secret (managers); signatures made with it stop being accepted."""
    with db.write() as repos:
        project_for(repos, caller, project_id, Role.MANAGER)
        if not repos.callbacks.callbacks.revoke_secret(project_id, secret_id, utcnow()):
            raise NotFound(f"callback secret {secret_id} not found")
