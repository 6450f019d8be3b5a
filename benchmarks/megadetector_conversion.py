"""MegaDetector's conversion: peak memory and time of turning its PyTorch checkpoint into ONNX.

The checkpoint is MegaDetector's own when ``--checkpoint`` names one (``md_v5a.0.0.pt`` or
``md_v5a.0.1.pt``); else a stand-in of the same layout and size (YOLOv5x6, 281 MB, random
weights) made by ``tests/support/yolov5_checkpoint.py``, as the release cannot be downloaded
everywhere. Each run converts in a child process that has imported trapline and onnx first; its
peak is the kernel's high-water mark (``VmHWM``) over the whole process, so no sampling can
miss it. Target (issue 48): at most 1.2 GB.

    python benchmarks/megadetector_conversion.py [--checkpoint FILE] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import print_table

REPO = Path(__file__).resolve().parents[1]
#: Target (issue 48): the conversion's peak RSS, in MB.
TARGET_MB = 1200.0

_CHILD = """
import json, sys, time
from pathlib import Path
import numpy, onnx
from trapline.pipelines.yolov5_onnx import convert

def status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1000
started_rss = status("VmRSS")
started = time.perf_counter()
convert(Path(sys.argv[1]), Path(sys.argv[2]))
print(json.dumps({"seconds": time.perf_counter() - started, "peak": status("VmHWM"),
                  "imports": started_rss}))
"""


def convert_once(checkpoint: Path, folder: Path) -> dict[str, float]:
    """One conversion in a child process: seconds, peak RSS and RSS before it, in MB."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(checkpoint), str(folder / "md_v5a.onnx")],
        capture_output=True, text=True, check=True, cwd=REPO, timeout=600,
    )  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, help="a MegaDetector .pt (default: stand-in)")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = options.checkpoint
        if checkpoint is None:
            sys.path.insert(0, str(REPO))
            from tests.support.yolov5_checkpoint import write

            checkpoint = write(Path(folder) / "md_v5a.0.0.pt")
        runs = [convert_once(checkpoint, Path(folder)) for _ in range(options.runs)]
        onnx_mb = (Path(folder) / "md_v5a.onnx").stat().st_size / 1e6
    peak = max(run["peak"] for run in runs)
    print_table(
        "MegaDetector's checkpoint converted to ONNX",
        ["checkpoint", "MB", "ONNX MB", "seconds (median)", "RSS before", "peak RSS", "target"],
        [
            [
                checkpoint.name if options.checkpoint else "stand-in YOLOv5x6",
                f"{checkpoint.stat().st_size / 1e6:.0f}" if options.checkpoint else "281",
                f"{onnx_mb:.0f}",
                f"{statistics.median(run['seconds'] for run in runs):.1f}",
                f"{max(run['imports'] for run in runs):.0f} MB",
                f"{peak:.0f} MB",
                f"≤ {TARGET_MB:.0f} MB {'ok' if peak <= TARGET_MB else 'MISSED'}",
            ]
        ],
    )


if __name__ == "__main__":
    main()
