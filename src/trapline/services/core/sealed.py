"""Secrets kept encrypted at rest: a pull source's credentials, projects' callback secrets.

AES-256-GCM under a key derived (HKDF-SHA256) from ``TRAPLINE_SECRET_KEY`` and a label naming
what the key protects, so it is never the key that signs blob URLs or lease tokens, and each
use has its own. A sealed value may be bound to context (a row's key id): it then opens only
with that context, so a sealed value copied to another row does not open. Changing the secret
key makes what was sealed under the old one unreadable.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from trapline.errors import InvalidInput

#: Sealed values start with their format's version.
_VERSION = "v1:"
_NONCE_BYTES = 12


class SealedBox:
    """Encrypts and authenticates small values under a key of one purpose (``label``)."""

    def __init__(self, secret_key: bytes, label: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret_key)
        self._aead = AESGCM(key)

    def seal(self, plain: bytes, *, bound_to: bytes = b"") -> str:
        """``plain`` encrypted, as text."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plain, bound_to)
        return _VERSION + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, *, bound_to: bytes = b"") -> bytes | None:
        """The value back; None when it cannot be opened (another secret key, altered, or
        bound to other context)."""
        if not sealed.startswith(_VERSION):
            return None
        try:
            raw = base64.urlsafe_b64decode(sealed[len(_VERSION) :])
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], bound_to)
        except (InvalidTag, ValueError):
            return None


class Sealer:
    """A pull source's credentials (a small string mapping), sealed."""

    def __init__(self, secret_key: bytes) -> None:
        self._box = SealedBox(secret_key, b"trapline pull source credentials v1")

    def seal(self, values: Mapping[str, str]) -> str:
        """The mapping, encrypted and authenticated, as text."""
        return self._box.seal(json.dumps(dict(values)).encode())

    def open(self, sealed: str) -> dict[str, str]:
        """The mapping back.

        Raises:
            InvalidInput: it was sealed under another secret key, or altered.
        """
        plain = self._box.open(sealed)
        if plain is None:
            raise InvalidInput(
                "the stored credentials cannot be read (the server's secret key changed?); "
                "set them again"
            )
        values = json.loads(plain)
        return {str(k): str(v) for k, v in values.items()}
