"""Fixtures of the callback API tests: a server with the global secret; the signing client
(``pipeline``) and an image (``image_id``) are shared fixtures (tests/support/fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.callbacks import SECRET
from tests.support.settings import make_settings
from trapline.settings import Settings


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    return make_settings(request, tmp_path, database_url, ml_callback_hmac_secret=SECRET)
