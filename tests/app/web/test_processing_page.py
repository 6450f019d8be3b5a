"""The Processing page lists every built-in pipeline with its state on this server, from the
same ``builtin_readiness`` the worker goes by: ready; needs its weights (the URL, MD5 and
folder); converting them; needs the ``[onnx]`` extra (the line to install it)."""

from __future__ import annotations

import html
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.accounts import Account
from tests.support.settings import make_settings
from tests.support.web import Browser
from trapline.pipelines.megadetector import RELEASES
from trapline.settings import Settings

CHECKPOINT = Path(__file__).resolve().parents[2] / "data" / "yolov5" / "tiny-p6.pt"


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    """Test settings with a weights folder of the test's own."""
    return make_settings(request, tmp_path, database_url, weights_cache_dir=tmp_path / "weights")


def _row(page: str, slug: str) -> str:
    start = page.index(f'<tr data-slug="{slug}"')
    return html.unescape(page[start : page.index("</tr>", start)])


def test_each_built_in_pipeline_is_listed_with_its_state_and_what_to_do(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    project_id: int,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    browser = sign_in(owner)
    path = f"/projects/{project_id}/processing"
    folder = settings.worker.weights_cache_dir
    page = browser.page(path)
    for slug in ("trapline-constant", "trapline-random", "moth-blobs"):
        assert 'data-state="ready"' in _row(page, slug)
    row = _row(page, "megadetector")
    assert 'data-state="needs_weights"' in row
    assert "needs its weights" in row
    for release in RELEASES:
        assert f'<a href="{release.url}">{release.file_name}</a>' in row
        assert f"MD5 <code>{release.md5}</code>" in row
    assert f"put it in <code>{folder}</code>" in row
    assert "trapline worker --pipeline megadetector" in row

    # A worker converting its checkpoint: its partial file is being written.
    folder.mkdir(parents=True)
    partial = folder / ".md_v5a.onnx.1a2b3c4d.part"
    partial.write_bytes(b"")
    row = _row(browser.page(path), "megadetector")
    assert 'data-state="converting"' in row
    assert "converting its weights" in row
    # ...and one a worker left behind long ago is not.
    long_ago = time.time() - 3600
    os.utime(partial, (long_ago, long_ago))
    assert 'data-state="needs_weights"' in _row(browser.page(path), "megadetector")

    # A checkpoint in place: ready, converted when a worker first loads it.
    (folder / "md_v5a.0.0.pt").write_bytes(CHECKPOINT.read_bytes())
    row = _row(browser.page(path), "megadetector")
    assert 'data-state="ready"' in row
    assert "md_v5a.0.0.pt is converted to ONNX when a worker first loads it" in row

    # Without ONNX Runtime installed it cannot run, whatever the folder holds.
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    row = _row(browser.page(path), "megadetector")
    assert 'data-state="needs_extra"' in row
    assert (
        "Install ONNX support where the worker runs: <code>pip install 'trapline[onnx]'</code>"
        in row
    )
