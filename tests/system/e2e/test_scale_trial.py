"""``make scale-trial``'s script runs the scaled set-up on this machine and a job through it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.databases import require_postgres
from tests.support.nats import require_nats_server
from tests.support.processes import clean_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.nats, pytest.mark.s3]

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "scale_trial.py"


@pytest.mark.timeout(600)
def test_the_scale_trial_runs_a_job_across_two_replicas(tmp_path: Path) -> None:
    require_postgres()
    require_nats_server()
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(TRIAL_PHOTOS="4"),
        timeout=540,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "succeeded: 4 of 4 images" in done.stdout
    assert "(JetStream)" in done.stdout
    assert done.stdout.count("replica ") == 2
