"""Process-wide tuning happens only when ``tuning.apply`` runs, and as the settings say.

Each check runs in a fresh interpreter: the knobs change the whole process, this one included.
"""

from __future__ import annotations

import json
import subprocess
import sys

from trapline.settings import Settings

PROBE = """
import gc, json, sys
from PIL import Image
import trapline.imaging.probe, trapline.app  # importing must tune nothing
imported = {"freeze": gc.get_freeze_count(), "switch": sys.getswitchinterval(),
            "block": Image.core.get_block_size()}
from trapline.cli import tuning
from trapline.settings import Settings
tuning.apply(Settings(_env_file=None, **json.loads(sys.argv[1])).server)
applied = {"freeze": gc.get_freeze_count(), "switch": sys.getswitchinterval(),
           "block": Image.core.get_block_size()}
print(json.dumps({"imported": imported, "applied": applied}))
"""

PILLOW_DEFAULT_BLOCK = 16 * 1024 * 1024


def _run(**settings: object) -> dict[str, dict[str, float]]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(settings)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    )
    result: dict[str, dict[str, float]] = json.loads(done.stdout)
    return result


def test_importing_the_platform_tunes_nothing_and_apply_tunes_as_set() -> None:
    seen = _run()
    assert seen["imported"] == {"freeze": 0, "switch": 0.005, "block": PILLOW_DEFAULT_BLOCK}
    assert seen["applied"]["freeze"] > 0
    assert seen["applied"]["switch"] == 0.001
    assert seen["applied"]["block"] == 64 * 1024 * 1024


def test_each_knob_can_be_turned_off() -> None:
    seen = _run(gc_freeze=False, switch_interval=0.005, pillow_block_bytes=0)
    assert seen["applied"] == {"freeze": 0, "switch": 0.005, "block": PILLOW_DEFAULT_BLOCK}


def test_the_event_loop_is_the_one_the_settings_name() -> None:
    from trapline.http.server import Server

    settings = Settings(event_loop="asyncio", _env_file=None)
    assert Server.for_app(object(), settings.http).config.loop == "asyncio"
