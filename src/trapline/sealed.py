"""Secrets kept encrypted at rest (a pull source's credentials): Fernet under a key derived
from ``TRAPLINE_SECRET_KEY``.

The key is HKDF-SHA256 of the secret key with its own label, so it is never the key that
signs blob URLs or lease tokens. Changing the secret key makes what was sealed under the old
one unreadable: sources then report that their credentials must be set again.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from trapline.errors import InvalidInput

#: What the derived key is for; another purpose derives another key.
LABEL = b"trapline pull source credentials v1"


class Sealer:
    """Encrypts and decrypts small string mappings."""

    def __init__(self, secret_key: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=LABEL).derive(secret_key)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, values: Mapping[str, str]) -> str:
        """The mapping, encrypted and authenticated, as text."""
        return self._fernet.encrypt(json.dumps(dict(values)).encode()).decode()

    def open(self, sealed: str) -> dict[str, str]:
        """The mapping back.

        Raises:
            InvalidInput: it was sealed under another secret key, or altered.
        """
        try:
            values = json.loads(self._fernet.decrypt(sealed.encode()))
        except (InvalidToken, ValueError):
            raise InvalidInput(
                "the stored credentials cannot be read (the server's secret key changed?); "
                "set them again"
            ) from None
        return {str(k): str(v) for k, v in values.items()}
