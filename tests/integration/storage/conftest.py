"""Fixtures for the storage tests: a moto S3 server, fresh buckets and a signing key."""

from __future__ import annotations

import pytest

from tests.support.moto import new_bucket


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """Name of a new, empty bucket on the moto server."""
    return new_bucket(s3_endpoint)


@pytest.fixture
def secret_key() -> bytes:
    """Key the local store signs links with."""
    return b"storage-tests-secret"
