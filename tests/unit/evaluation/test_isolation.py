"""``trapline eval`` runs in a worker install: it loads nothing of the platform."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.worker_isolation import PLATFORM_MODULES, PLATFORM_PACKAGES

PROBE = """
import json, sys
import trapline.cli, trapline.cli.evaluation, trapline.evaluation.drawing
print(json.dumps(sorted(sys.modules)))
"""


def test_evaluation_imports_nothing_of_the_platform() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = json.loads(done.stdout)
    assert "trapline.evaluation.run" in loaded
    for name in (*PLATFORM_PACKAGES, *PLATFORM_MODULES):
        assert not [m for m in loaded if m == name or m.startswith(name + ".")], name
