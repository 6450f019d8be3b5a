"""Fixtures for the storage tests: a moto S3 server, fresh buckets and a signing key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.moto import moto_s3_server, new_bucket


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """URL of a moto S3 server shared by the session; fake AWS credentials are set meanwhile."""
    with moto_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """Name of a new, empty bucket on the moto server."""
    return new_bucket(s3_endpoint)


@pytest.fixture
def secret_key() -> bytes:
    """Key the local store signs links with."""
    return b"storage-tests-secret"
