"""What a worker says when the platform refuses it, and only then; what it says when it cannot
run the pipeline it was asked for, before it downloads anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import clean_env, trapline_command
from tests.support.scripted import Script, scripted_server
from trapline.worker.client import ApiError, PlatformClient, client_info
from trapline.worker.main import refusal_message


def test_refused_tokens_say_a_worker_needs_a_service_token_and_how_to_make_one() -> None:
    client = PlatformClient("http://platform:8000", "t", info=client_info(None, []))
    for status in (401, 403):
        said = refusal_message(ApiError(status, "nope", "/tasks/next/"), client)
        assert "A worker needs a service token" in said
        assert "POST /api/v2/projects/{id}/service-tokens/" in said
        assert "trapline admin create-service-token" in said
    said = refusal_message(ApiError(400, "Select a valid choice.", "/jobs/"), client)
    assert said.endswith("refused to hand out work: /jobs/: HTTP 400: Select a valid choice.")
    client.close()


def test_a_refused_token_with_nothing_in_hand_says_only_that(tmp_path: Path) -> None:
    script = Script()
    script.add("/api/v2/tasks/next/", 401, {"detail": "invalid token", "code": "unauthorized"})
    with scripted_server(script) as url:
        done = subprocess.run(
            trapline_command("worker", "--pipeline", "trapline-constant"),
            env=clean_env(TRAPLINE_API_URL=url, TRAPLINE_TOKEN="tl_wrong"),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1
    assert "did not take this worker's token" in done.stderr
    assert "A worker needs a service token" in done.stderr
    assert "stopped before every result was posted" not in done.stderr


#: The one line a worker without the ``[onnx]`` extra says for MegaDetector.
EXTRA_LINE = (
    "pipeline 'megadetector' needs ONNX support ({} not installed): pip install 'trapline[onnx]'"
)


# Without onnxruntime it cannot run a model; without onnx (issue 51: ModuleNotFoundError) it
# cannot convert MegaDetector's checkpoint.
@pytest.mark.parametrize("missing", ["onnxruntime", "onnx"])
def test_the_worker_says_what_to_install_in_one_line_and_downloads_nothing(
    tmp_path: Path, missing: str
) -> None:
    weights = tmp_path / "weights"
    # The worker as installed without the extra: the module cannot be imported.
    code = (
        f"import runpy, sys; sys.modules[{missing!r}] = None; "
        "sys.argv = ['trapline', 'worker', '--pipeline', 'megadetector']; "
        "runpy.run_module('trapline.cli', run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=clean_env(TRAPLINE_WEIGHTS_CACHE_DIR=str(weights), TRAPLINE_TOKEN="tl_x"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines() == [f"error: {EXTRA_LINE.format(missing)}"]
    assert not weights.exists()
