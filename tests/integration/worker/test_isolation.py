"""The worker installs without the platform: importing it loads none of the platform's stack."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.worker_isolation import PLATFORM_MODULES, PLATFORM_PACKAGES

#: What the worker may import of trapline (DESIGN §6, and the stdlib-only log and file helpers).
# cli: the ``trapline`` command, whose platform commands load the platform only when they run;
# its ``trapline sources`` is an HTTP client of the API like the worker's.
ALLOWED = ("protocol", "settings", "errors", "pipelines", "worker", "logs", "files", "cli")

PROBE = """
import json, sys
import trapline.cli, trapline.worker.main, trapline.worker.runner, trapline.worker.service
from trapline.pipelines import available_pipelines
available_pipelines()
print(json.dumps(sorted(sys.modules)))
"""


def test_importing_the_worker_loads_nothing_of_the_platform() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = json.loads(done.stdout)
    for package in PLATFORM_PACKAGES:
        assert not [m for m in loaded if m == package or m.startswith(package + ".")], package
    for module in PLATFORM_MODULES:
        assert not [m for m in loaded if m == module or m.startswith(module + ".")], module
    ours = {m.split(".")[1] for m in loaded if m.startswith("trapline.")}
    assert ours <= set(ALLOWED), ours - set(ALLOWED)
    # The probe really imported the worker (the check above can't pass vacuously).
    assert {"trapline.worker.runner", "trapline.worker.service", "trapline.pipelines"} <= set(
        loaded
    )
