"""Secrets sealed at rest: one primitive for every kind of stored secret."""

from __future__ import annotations

import pytest

from trapline.errors import InvalidInput
from trapline.services.callbacks.callback_secrets import SecretBox
from trapline.services.core.sealed import SealedBox, Sealer

KEY = b"k" * 32


def test_a_sealed_value_opens_only_with_its_key_label_and_context() -> None:
    box = SealedBox(KEY, b"purpose a")
    sealed = box.seal(b"the secret", bound_to=b"row 1")
    assert b"the secret" not in sealed.encode()
    assert box.open(sealed, bound_to=b"row 1") == b"the secret"
    assert box.open(sealed, bound_to=b"row 2") is None
    assert SealedBox(KEY, b"purpose b").open(sealed, bound_to=b"row 1") is None
    assert SealedBox(b"x" * 32, b"purpose a").open(sealed, bound_to=b"row 1") is None
    assert box.open(sealed[:-4] + "AAAA", bound_to=b"row 1") is None
    assert box.open("not sealed") is None
    assert box.seal(b"same") != box.seal(b"same")  # a fresh nonce each time


def test_credentials_and_callback_secrets_use_keys_of_their_own() -> None:
    credentials = Sealer(KEY).seal({"username": "station", "password": "s3cret"})
    assert Sealer(KEY).open(credentials) == {"username": "station", "password": "s3cret"}
    with pytest.raises(InvalidInput, match="set them again"):
        Sealer(b"y" * 32).open(credentials)
    secrets = SecretBox(KEY)
    sealed = secrets.seal("cb_1", "tlcb_value")
    assert secrets.open("cb_1", sealed) == b"tlcb_value"
    assert secrets.open("cb_2", sealed) is None
    assert SealedBox(KEY, b"trapline pull source credentials v1").open(sealed) is None
