"""Tracking: how well the cost threshold separates one individual from two, fitted and checked
by leaving one scene out, and what tracking costs per detection.

Part 1 (needs the shared photos, ``--shared``): the labelled scenes of
``data/ground-truth/tracking.json`` (a heron in ten camera-trap frames, the insects of two
consecutive light-trap photos, each pair of consecutive sightings marked same or different by
eye). For each threshold, the errors a scene's tracking makes: links between consecutive
sightings that should be made and were not, plus links made that should not be. The
threshold fitted on one scene is the middle of its error-free (else least-error) range, or
for a scene without any wrong pair to avoid, 10 % above its costliest true link; it is then
scored on the other scene. The threshold trapline uses is the middle of the range where both
scenes are error-free.

Part 2: CPU time per detection over a synthetic night: 100 photos of 50 detections each, the
insects drifting a little between photos; the colour descriptors of one 4096 x 2160 photo's
50 boxes (the service decodes each photo once for them), then ``track`` over the night. The
issue's budget is 2 ms of CPU per detection.

Part 3 (``--dataset 10k|100k|1m``): events of the saved realistic data set
(``dataset.py``) tracked again by the tracking duty's own function, in this process: reading
the current results, linking, storing and counting; CPU time per detection tracked.

Run ``python benchmarks/tracking.py --shared ../shared/data``.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import time
from pathlib import Path

from common import machine_speed_ms, print_table

from trapline.domain.ecology.tracking import COST_THRESHOLD, Frame, Sighting, pair, track
from trapline.imaging.descriptors import box_descriptors
from trapline.imaging.synthetic import light_trap_jpeg

TRUTH = Path(__file__).resolve().parents[1] / "data" / "ground-truth"
THRESHOLDS = [round(0.5 + 0.05 * n, 2) for n in range(41)]  # 0.5 to 2.5


def _heron(shared: Path, truth: dict) -> tuple[list[Frame], set[tuple[int, int]]]:
    scene = truth["heron"]
    width, height = scene["width"], scene["height"]
    frames = []
    for n, (name, (x1, y1, x2, y2)) in enumerate(sorted(scene["boxes"].items())):
        box = (x1 * width, y1 * height, x2 * width, y2 * height)
        with (shared / scene["folder"] / name).open("rb") as stream:
            (look,) = box_descriptors(stream, [box])
        frames.append(Frame(n, width, height, (Sighting(n, *box, descriptor=look),)))
    return frames, {(n, n + 1) for n in range(len(frames) - 1)}


def _moths(shared: Path, truth: dict) -> tuple[list[Frame], set[tuple[int, int]]]:
    coco = json.loads((TRUTH / "moth-trap-images.coco.json").read_text())
    not_insect = next(c["id"] for c in coco["categories"] if c["name"] == "not an insect")
    frames = []
    for name in truth["moths"]["photos"]:
        image = next(i for i in coco["images"] if i["file_name"] == name)
        found = [
            (
                a["id"],
                (
                    a["bbox"][0],
                    a["bbox"][1],
                    a["bbox"][0] + a["bbox"][2],
                    a["bbox"][1] + a["bbox"][3],
                ),
            )
            for a in coco["annotations"]
            if a["image_id"] == image["id"] and a["category_id"] != not_insect
        ]
        with (shared / "moth-trap-images" / name).open("rb") as stream:
            looks = box_descriptors(stream, [box for _, box in found])
        sightings = tuple(
            Sighting(i, *box, descriptor=d) for (i, box), d in zip(found, looks, strict=True)
        )
        frames.append(Frame(image["id"], image["width"], image["height"], sightings))
    return frames, {(a, b) for a, b in truth["moths"]["same"]}


def _errors(frames: list[Frame], same: set[tuple[int, int]], threshold: float) -> int:
    made = {
        (a, b)
        for n in range(len(frames) - 1)
        for a, b, _ in pair(frames[n], frames[n + 1], threshold)
    }
    return len(made ^ same)


def _fit(errors: dict[float, int], same: set[tuple[int, int]], costliest: float) -> float:
    best = min(errors.values())
    good = [t for t, e in errors.items() if e == best]
    # A scene where every link is right from some threshold up (nothing to avoid linking)
    # bounds the threshold from below only: 10 % above its costliest true link.
    if good[-1] == THRESHOLDS[-1] and errors[THRESHOLDS[-1]] == 0:
        return round(max(good[0], costliest * 1.1), 2)
    return round((good[0] + good[-1]) / 2, 2)


def fit_threshold(shared: Path) -> None:
    truth = json.loads((TRUTH / "tracking.json").read_text())
    scenes = {"heron": _heron(shared, truth), "moths": _moths(shared, truth)}
    errors = {
        name: {t: _errors(frames, same, t) for t in THRESHOLDS}
        for name, (frames, same) in scenes.items()
    }
    costliest = {}
    for name, (frames, same) in scenes.items():
        links = {
            (a, b): c
            for n in range(len(frames) - 1)
            for a, b, c in pair(frames[n], frames[n + 1], 4.0)
        }
        costliest[name] = max((links.get(p, 4.0) for p in same), default=0.0)
    rows = [
        (t, errors["heron"][t], errors["moths"][t])
        for t in THRESHOLDS
        if t <= 2.0 and round(t * 20) % 2 == 0
    ]
    print_table(
        "errors per threshold (missed + wrong links)", ["threshold", "heron", "moths"], rows
    )
    folds = []
    for held, other in (("heron", "moths"), ("moths", "heron")):
        fitted = _fit(errors[other], scenes[other][1], costliest[other])
        nearest = min(THRESHOLDS, key=lambda t: abs(t - fitted))
        folds.append((held, other, fitted, errors[held][nearest]))
    print_table(
        "leave one scene out", ["held out", "fitted on", "threshold", "errors on held out"], folds
    )
    both = [t for t in THRESHOLDS if errors["heron"][t] == 0 and errors["moths"][t] == 0]
    span = f"{both[0]}-{both[-1]}" if both else "none"
    print(f"error-free on both scenes: {span}; trapline's COST_THRESHOLD = {COST_THRESHOLD}")


def cpu_per_detection(photos: int, per_photo: int, repeats: int) -> None:
    rng = random.Random(1)
    places = [
        (rng.uniform(0, 3900), rng.uniform(0, 2000), rng.uniform(20, 150)) for _ in range(per_photo)
    ]
    frames = []
    for n in range(photos):
        sightings = []
        for k, (x, y, size) in enumerate(places):
            dx, dy = rng.gauss(0, 4), rng.gauss(0, 4)
            look = tuple(rng.random() for _ in range(64))
            sightings.append(
                Sighting(
                    n * per_photo + k, x + dx, y + dy, x + dx + size, y + dy + size, descriptor=look
                )
            )
        frames.append(Frame(n, 4096, 2160, tuple(sightings)))
    times = []
    for _ in range(repeats):
        started = time.process_time()
        chains = track(frames)
        times.append(time.process_time() - started)
    linking = statistics.median(times) / (photos * per_photo) * 1000
    # The colour descriptors: one reduced decode of each 4096 x 2160 photo for its boxes.
    photo = io.BytesIO(light_trap_jpeg(3, width=4096, height=2160))
    boxes = [(x, y, x + size, y + size) for x, y, size in places]
    looks = []
    for _ in range(repeats):
        photo.seek(0)
        started = time.process_time()
        box_descriptors(photo, boxes)
        looks.append(time.process_time() - started)
    describing = statistics.median(looks) / per_photo * 1000
    print_table(
        f"tracking a night: {photos} photos x {per_photo} detections (CPU, median of {repeats})",
        ["step", "ms per detection", "budget ms"],
        [
            ("descriptors (one decode per photo)", round(describing, 3), ""),
            (f"linking ({len(chains)} occurrences)", round(linking, 3), ""),
            ("both", round(describing + linking, 3), 2.0),
        ],
    )


def retrack_dataset(size: str, backend: str, events: int) -> None:
    """Track again ``events`` events of the saved set, spread over it (the duty's own
    function: the same results give the same occurrences, ids and identifications)."""
    from dataset import ensure, opened, photo_count
    from sqlalchemy import text

    from trapline.services.ecology.occurrences import track_event

    dataset = ensure(backend, photo_count(size))
    with opened(dataset) as platform:
        with platform.db.read() as repos:
            every = [int(i) for i in repos.session.scalars(
                text("SELECT id FROM events WHERE project_id = :p ORDER BY id"),
                {"p": dataset.project_id})]  # fmt: skip
        chosen = every[:: max(1, len(every) // events)][:events]
        bump = "UPDATE events SET tracking_version = tracking_version + 1 WHERE id = :e"
        cpu, detections = 0.0, 0
        for event_id in chosen:
            with platform.db.write() as repos:
                repos.session.execute(text(bump), {"e": event_id})
                read = "SELECT tracking_version FROM events WHERE id = :e"
                version = int(repos.session.scalar(text(read), {"e": event_id}))
            started = time.process_time()
            track_event(platform.db, platform.store, event_id, version)
            cpu += time.process_time() - started
            with platform.db.read() as repos:
                detections += int(repos.session.scalar(text(
                    "SELECT coalesce(sum(detection_count), 0) FROM occurrences WHERE event_id = :e"
                ), {"e": event_id}) or 0)  # fmt: skip
    print_table(
        f"tracking events of the realistic set again ({backend}, {size} photos)",
        ["events", "detections", "CPU s", "ms per detection", "budget ms"],
        [(len(chosen), detections, round(cpu, 1), round(cpu / max(detections, 1) * 1000, 3), 2.0)],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--shared", type=Path, help="the shared data folder (for the threshold fit)"
    )
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--per-photo", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dataset", choices=["10k", "100k", "1m"], help="the saved set's size")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--events", type=int, default=50, help="events tracked again")
    args = parser.parse_args()
    print(f"machine speed: {machine_speed_ms():.0f} ms")
    if args.shared is not None:
        fit_threshold(args.shared)
    if args.dataset is not None:
        retrack_dataset(args.dataset, args.backend, args.events)
        return
    cpu_per_detection(args.photos, args.per_photo, args.repeats)


if __name__ == "__main__":
    main()
