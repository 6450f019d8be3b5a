"""Detection benchmark: ``moth-blobs`` speed per photo, and its quality against drawn boxes;
MegaDetector's speed per photo when its file is in place.

- speed: the pipeline's ``process`` on one decoded photo at a time, on one core (numpy's
  thread pools are held to one thread), median wall time and median CPU time of ``--runs``
  runs after one warm-up. The photos are the shared light-trap photos when they are there
  (``--images``), else generated 4096 x 2160 light-trap photos.
- quality: ``trapline eval``'s table for the shared photos against the repository's ground
  truth, when the photos are there.
- MegaDetector: the ``megadetector`` pipeline timed the same way (ONNX Runtime on every core)
  on the shared camera-trap photos (or generated photos), when ``md_v5a.onnx`` is in the
  weights folder (``--weights DIR``, default the worker's); else it says where the file goes.

    python benchmarks/detection.py [--runs 5] [--images DIR] [--truth FILE] [--weights DIR]
"""

from __future__ import annotations

import os

# One core: set before numpy loads its thread pools.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_speed_ms, print_table  # noqa: E402

from trapline.evaluation.run import evaluate, format_report  # noqa: E402
from trapline.evaluation.truth import load_truth  # noqa: E402
from trapline.imaging.synthetic import light_trap_image  # noqa: E402
from trapline.pipelines import Pipeline, SourceImage  # noqa: E402
from trapline.pipelines.megadetector import MegaDetectorPipeline, weights_path  # noqa: E402
from trapline.pipelines.moth_blobs import MothBlobsPipeline  # noqa: E402
from trapline.pipelines.weights import DEFAULT_CACHE_DIR  # noqa: E402
from trapline.worker.images import decode  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TRUTH = REPO / "data/ground-truth/moth-trap-images.coco.json"
#: The developers' shared photos: ``shared/data/moth-trap-images`` beside the checkout or above.
SHARED = next(
    (
        folder / "shared/data/moth-trap-images"
        for folder in REPO.parents
        if (folder / "shared/data/moth-trap-images").is_dir()
    ),
    REPO.parent / "shared/data/moth-trap-images",
)


def photos(folder: Path | None) -> list[SourceImage]:
    """The photos of ``folder`` decoded as a worker decodes them, else three generated ones."""
    if folder is not None and folder.is_dir():
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
        return [decode(path.read_bytes(), path.name) for path in files]
    return [
        SourceImage(f"generated-{seed}", light_trap_image(seed, 4096, 2160)[0]) for seed in range(3)
    ]


def speed(images: list[SourceImage], runs: int, pipeline: Pipeline) -> list[list[object]]:
    """Per photo: size, boxes reported, median wall and CPU milliseconds of ``process``."""
    rows: list[list[object]] = []
    for image in images:
        (answer,) = pipeline.process([image])  # warm-up
        walls, cpus = [], []
        for _ in range(runs):
            wall, cpu = time.perf_counter(), time.process_time()
            pipeline.process([image])
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        width, height = image.size
        rows.append(
            [
                image.id,
                f"{width}x{height}",
                len(answer.detections),
                statistics.median(walls) * 1000,
                statistics.median(cpus) * 1000,
            ]
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    """Print the speed table, then the quality table when the shared photos are there."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per photo")
    parser.add_argument("--images", type=Path, default=SHARED, help="folder of photos")
    parser.add_argument("--truth", type=Path, default=TRUTH, help="ground truth for them")
    parser.add_argument(
        "--weights", type=Path, default=DEFAULT_CACHE_DIR, help="folder of md_v5a.onnx"
    )
    args = parser.parse_args(argv)
    print(f"machine speed: {machine_speed_ms():.0f} ms for the reference loop")
    images = photos(args.images)
    rows = speed(images, args.runs, MothBlobsPipeline())
    print_table(
        f"moth-blobs, one photo at a time on one core (median of {args.runs} runs)",
        ["photo", "size", "blobs", "wall ms", "cpu ms"],
        rows,
    )
    if args.images.is_dir() and args.truth.is_file():
        report = evaluate(MothBlobsPipeline(), args.images, load_truth(args.truth))
        print(f"\nmoth-blobs against {args.truth.relative_to(REPO)}")
        print(format_report(report))
    else:
        print(f"\nno shared photos at {args.images}: quality not measured")
    megadetector(args.images.parent / "camera-trap-images", args.weights, args.runs)


def megadetector(folder: Path, weights: Path, runs: int) -> None:
    """MegaDetector's speed per camera-trap photo, or where its file goes."""
    if not weights_path(weights).is_file():
        print(f"\nMegaDetector not timed: no {weights_path(weights)} (docs/pipelines.md)")
        return
    pipeline = MegaDetectorPipeline(weights)
    pipeline.load()
    print()
    print_table(
        f"megadetector, one photo at a time, ONNX Runtime on every core (median of {runs} runs)",
        ["photo", "size", "boxes", "wall ms", "cpu ms"],
        speed(photos(folder), runs, pipeline),
    )


if __name__ == "__main__":
    main()
