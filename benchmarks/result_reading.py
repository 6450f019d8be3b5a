"""Reading a post of results, in process: each way of reading it that decision 048 weighed,
timed on the posts ``dispatch.py``'s loops send (64 results, one detection and two
classifications each) and on a post of 64 results with 2,048 features per classification.

- ``part by part``: ``result_body._read_post`` (spans found by ``protocol.json_spans``, each
  part checked against its caps and parsed), then every item and detection typed, as the
  result path did before (decision 037);
- ``whole, pydantic``: ``TypedResultsRequest.model_validate_json``, what ``read_post`` now
  does for a post within the caps of one part (and what c2a8a19 did for every post);
- ``values counted``: ``protocol.json_values`` over the body (the caps' check in C);
- ``orjson + pydantic``: ``orjson.loads``, then the model validated from Python objects;
- ``msgspec``: typed decoding into msgspec structs of the same shape (decoding only: the rest
  of the result path takes the pydantic models, which would be built on top).

orjson and msgspec are not trapline's dependencies: the script times them when they can be
imported (``pip install --target DIR orjson msgspec`` and ``PYTHONPATH=DIR``). Run
``python benchmarks/result_reading.py --help``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from common import machine_speed_ms, print_table
from pydantic_core import to_json

from trapline.protocol.base import json_values
from trapline.protocol.results import TypedResultsRequest
from trapline.services.processing.result_body import PendingResult, StreamedResult, _read_post

LABELS = ["moth", "beetle", "fly", "wasp", "other"]


def post(results: int, features: int) -> bytes:
    """A post as the dispatch benchmark's loops write it (``dispatch.result_for``)."""
    items = []
    for n in range(results):
        classification: dict[str, Any] = {
            "classification": "moth",
            "labels": LABELS,
            "scores": [0.6, 0.2, 0.1, 0.05, 0.05],
            "terminal": True,
            "timestamp": "2024-06-01T22:00:00",
        }
        if features:
            classification["features"] = [0.001 * k for k in range(features)]
        detection = {
            "source_image_id": str(n),
            "bbox": {"x1": 100, "y1": 120, "x2": 300, "y2": 340},
            "algorithm": {"name": "Detector", "key": "bench-det"},
            "timestamp": "2024-06-01T22:00:00",
            "classifications": [
                {**classification, "algorithm": {"name": "b", "key": "bench-binary"}},
                {**classification, "algorithm": {"name": "s", "key": "bench-species"}},
            ],
        }
        items.append(
            {
                "reply_subject": f"lease.{n}.abcdefghijklmnopqrstuvwxyz0123456789",
                "result": {
                    "pipeline": "bench",
                    "total_time": 0.01,
                    "source_images": [{"id": str(n), "url": f"http://x/images/{n}"}],
                    "detections": [detection],
                },
            }
        )
    return to_json({"results": items, "client_info": {"hostname": "bench"}})


def part_by_part(body: bytes) -> None:
    for item in _read_post(body).items:
        assert isinstance(item.result, PendingResult)
        read = item.result.read()
        assert isinstance(read, StreamedResult)
        for _ in read.detections():
            pass


def whole(body: bytes) -> None:
    TypedResultsRequest.model_validate_json(body)


def counted(body: bytes) -> None:
    json_values(body)


def _orjson() -> Callable[[bytes], None] | None:
    try:
        import orjson
    except ImportError:
        return None
    return lambda body: TypedResultsRequest.model_validate(orjson.loads(body)) and None


def _msgspec() -> Callable[[bytes], None] | None:
    try:
        import result_reading_msgspec
    except ImportError:
        return None
    return lambda body: result_reading_msgspec.DECODER.decode(body) and None


def time_each(body: bytes, repeats: int) -> list[list[object]]:
    ways: dict[str, Callable[[bytes], None] | None] = {
        "part by part (before)": part_by_part,
        "whole, pydantic (now, within one part's caps)": whole,
        "values counted in C (json_values)": counted,
        "orjson + pydantic from Python objects": _orjson(),
        "msgspec typed decoding (structs only)": _msgspec(),
    }
    rows: list[list[object]] = []
    base = None
    for name, way in ways.items():
        if way is None:
            rows.append([name, "not installed", "", ""])
            continue
        way(body)
        samples = []
        for _ in range(repeats):
            started = time.process_time()
            way(body)
            samples.append(time.process_time() - started)
        best = sorted(samples)[len(samples) // 2] * 1000
        base = base or best
        rows.append([name, round(best, 3), round(best * 1000 / 64, 1), round(best / base, 2)])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    print(f"machine speed: {machine_speed_ms():.0f} ms")
    for features in (0, 2048):
        body = post(64, features)
        print_table(
            f"a post of 64 results, {features} features per classification ({len(body):,} "
            f"bytes, {json_values(body):,} values); CPU, median of {args.repeats}",
            ["reading", "ms per post", "µs per result", "÷ part by part"],
            time_each(body, args.repeats),
        )


if __name__ == "__main__":
    main()
