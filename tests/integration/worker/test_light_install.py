"""A worker install is light: ``pip install trapline`` in a fresh venv brings none of the
platform's stack, and the worker's commands run there.

test_isolation.py checks what importing the worker loads, in this (full) environment; this
test checks what the package declares, by installing it for real. pip reaches the package
index for the worker's requirements (wheels from pip's cache when it has them); without an
index the test is skipped and says so.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.waiting import wait_process_ready

REPO_ROOT = Path(__file__).resolve().parents[3]
#: Modules of the platform's packages (the ``server`` extra) that a worker install must not have.
PLATFORM_MODULES = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg")
#: What pip prints when it cannot reach an index: the test is skipped, not failed.
OFFLINE_SIGNS = (
    "Temporary failure in name resolution",
    "NewConnectionError",
    "Network is unreachable",
    "No matching distribution found",
    "Could not find a version that satisfies",
)

# One worker builds the venv once (a module fixture split over two workers is built twice).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.xdist_group("integration/test_light_install"),
]


def _environment() -> dict[str, str]:
    """This process's environment without what points Python or trapline at this checkout."""
    drop = ("PYTHON", "VIRTUAL_ENV", "TRAPLINE_", "AMI_ANTENNA_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with this checkout installed from its wheel, as a worker machine does."""
    root = tmp_path_factory.mktemp("light")
    source = root / "source"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(
        REPO_ROOT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    env = _environment()
    subprocess.run([sys.executable, "-m", "venv", root / "venv"], env=env, check=True)
    # As README says: a wheel built from a clone (`make wheel`), installed on the worker.
    wheels = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
         "--disable-pip-version-check", "--wheel-dir", wheels, source],
        env=env, check=True, timeout=300,
    )  # fmt: skip
    (wheel,) = wheels.glob("trapline-*-py3-none-any.whl")
    done = subprocess.run(
        # --no-compile: what the tests run compiles as it is imported; all else need not be.
        [
            root / "venv/bin/pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            wheel,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=840,
    )
    if done.returncode != 0:
        said = done.stdout + done.stderr
        if any(sign in said for sign in OFFLINE_SIGNS):
            pytest.skip(f"pip could not reach a package index: {said.strip().splitlines()[-1]}")
        pytest.fail(f"pip install failed:\n{said}")
    return root / "venv"


def _run(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [venv / "bin/trapline", *args],
        env=_environment(),
        cwd=venv.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_worker_install_has_none_of_the_platforms_packages(venv: Path) -> None:
    probe = (
        "import importlib.util, trapline; "
        "print(trapline.__file__); "
        f"print(*[m for m in {PLATFORM_MODULES!r} if importlib.util.find_spec(m)])"
    )
    done = subprocess.run(
        [venv / "bin/python", "-c", probe],
        env=_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    where, present = done.stdout.splitlines()
    assert where.startswith(str(venv)), where  # the installed copy, not this checkout
    assert present == ""
    # The probe would have seen them: they are importable here, in the full install.
    assert all(importlib.util.find_spec(m) for m in PLATFORM_MODULES)


def test_the_worker_commands_run_and_the_platforms_name_its_extra(venv: Path) -> None:
    helped = _run(venv, "worker", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "--pipeline" in helped.stdout
    # The Python client and the upload command work from the light install too.
    uploading = _run(venv, "upload", "--help")
    assert uploading.returncode == 0, uploading.stderr
    assert "--recursive" in uploading.stdout
    client = subprocess.run(
        [venv / "bin/python", "-c", "from trapline.client import Client"],
        env=_environment(),
        capture_output=True,
        text=True,
    )
    assert client.returncode == 0, client.stderr

    for command in (["serve"], ["up"], ["migrate"], ["admin", "create-user", "--email", "a@b.c"]):
        refused = _run(venv, *command)
        assert refused.returncode == 2, (command, refused.stderr)
        assert "pip install 'trapline[server]'" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr


@pytest.fixture
def service(venv: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``trapline worker serve --pipeline trapline-constant`` from the light install, on a
    free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = ["worker", "serve", "--pipeline", "trapline-constant", "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [venv / "bin/trapline", *command, "--port", str(port)],
        env=_environment(),
        cwd=venv.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_processing_service_runs_from_the_worker_install(service) -> None:
    process, url = service
    with httpx.Client(base_url=url, timeout=10) as client:
        wait_process_ready(process, client, timeout=60)
        assert client.get("/livez").json() == {"status": True}
        assert client.get("/readyz").json() == {"status": ["trapline-constant"]}
        empty = client.post("/process", json={"pipeline": "trapline-constant", "source_images": []})
        assert empty.status_code == 200, empty.text

    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output


def test_eval_runs_from_the_worker_install(venv: Path, tmp_path: Path) -> None:
    from trapline.imaging.synthetic import light_trap_image

    image, insects = light_trap_image(0, 1200, 900)
    image.save(tmp_path / "sheet.jpg", quality=92)
    truth = {
        "images": [{"id": 1, "file_name": "sheet.jpg", "width": 1200, "height": 900}],
        "annotations": [
            {"id": n, "image_id": 1, "category_id": 1, "bbox": [x1, y1, x2 - x1, y2 - y1]}
            for n, (x1, y1, x2, y2) in enumerate((i.box for i in insects), start=1)
        ],
        "categories": [{"id": 1, "name": "moth"}],
    }
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    done = _run(
        venv,
        "eval",
        "--pipeline",
        "moth-blobs",
        "--images",
        str(tmp_path),
        "--truth",
        str(tmp_path / "truth.json"),
    )
    assert done.returncode == 0, done.stderr
    (overall,) = [line.split() for line in done.stdout.splitlines() if line.startswith("overall")]
    assert overall[:2] == ["overall", str(len(insects))]
