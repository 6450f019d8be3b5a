"""``trapline demo-images``: sample photos named by capture time, the same bytes every run."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.processes import clean_env, trapline_command
from trapline.imaging.samples import write_sample_photos


def test_samples_are_named_by_time_and_repeatable(tmp_path: Path) -> None:
    first = write_sample_photos(tmp_path / "a", 2, width=320)
    again = write_sample_photos(tmp_path / "b", 2, width=320)
    assert [p.name for p in first] == ["20240622000459.jpg", "20240622001459.jpg"]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    assert first[0].read_bytes()[:2] == b"\xff\xd8"


def test_a_bad_count_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="count must be from 1 to 1000"):
        write_sample_photos(tmp_path, 0)
    done = subprocess.run(
        trapline_command("demo-images", str(tmp_path / "x"), "--count", "5000"),
        capture_output=True,
        text=True,
        env=clean_env(),
    )
    assert done.returncode == 2
    assert "count must be from 1 to 1000 (got 5000)" in done.stderr
    assert not (tmp_path / "x").exists()
