"""Remote answers at their caps are read within 100 MB; past them, refused with a clear error.

A ``/process`` answer is read one part (detection) at a time: at its caps it is made of parts
at theirs.

Each answer is served by a loopback HTTP server to the real gateway (or service client) in a
child process that measures its own peak RSS (``tests/support/peak_memory.py``).
"""

from __future__ import annotations

from tests.support.peak_memory import (
    MAX_RISE_MB,
    costly_json,
    floats,
    in_parts,
    measure_reading,
)
from trapline.protocol.base import (
    MAX_PART_BYTES,
    MAX_PART_VALUES,
    MAX_RESULTS_CONTAINERS,
    MAX_RESULTS_VALUES,
)
from trapline.services.pipelines.service_client import MAX_PROCESS_BYTES
from trapline.sources import http_directory, s3


def nginx_json(entries: int) -> bytes:
    """An nginx JSON listing of ``entries`` files (4 values each by ``json_values``)."""
    unit = b'{"name":"f%07d","type":"file","size":1}'
    return b"[" + b",".join(unit % n for n in range(entries)) + b"]"


def s3_page(keys: int, key_bytes: int = 1000) -> bytes:
    """A ListBucketResult page of ``keys`` objects with long keys."""
    unit = b"<Contents><Key>" + b"k" * key_bytes + b"%07d.jpg</Key><Size>1</Size></Contents>"
    head = b'<?xml version="1.0"?><ListBucketResult><IsTruncated>false</IsTruncated>'
    return head + b"".join(unit % n for n in range(keys)) + b"</ListBucketResult>"


def test_a_json_listing_page_at_its_value_cap_is_read_within_100_mb() -> None:
    entries = http_directory.MAX_PAGE_VALUES // 4 - 10
    outcome, rise = measure_reading("listing", nginx_json(entries), "application/json")
    assert outcome == "ok"
    assert rise <= MAX_RISE_MB, f"peak RSS rose {rise:.0f} MB"


def test_a_json_listing_page_over_its_value_cap_is_refused() -> None:
    entries = http_directory.MAX_PAGE_VALUES // 4 + 10
    outcome, _ = measure_reading("listing", nginx_json(entries), "application/json")
    assert f"more than {http_directory.MAX_PAGE_VALUES} JSON values" in outcome


def test_an_s3_listing_page_at_its_cap_is_read_within_100_mb() -> None:
    outcome, rise = measure_reading("s3", s3_page(s3.PAGE_KEYS), "application/xml")
    assert outcome == "ok"
    assert rise <= MAX_RISE_MB, f"peak RSS rose {rise:.0f} MB"


def test_an_s3_listing_page_over_its_caps_is_refused() -> None:
    outcome, _ = measure_reading("s3", s3_page(s3.PAGE_KEYS + 1, 10), "application/xml")
    assert f"more than {s3.PAGE_KEYS} objects on one page" in outcome
    big = s3_page(s3.MAX_PAGE_BYTES // 10_000 + 10, key_bytes=10_000)
    outcome, _ = measure_reading("s3", big, "application/xml")
    assert f"larger than {s3.MAX_PAGE_BYTES} bytes" in outcome


def process_answer(junk: bytes) -> bytes:
    return b'{"pipeline":"p","detections":[],"junk":%s}' % junk


def detection(*labels: bytes) -> bytes:
    """A detection with a classification for each of ``labels`` (typed into Python)."""
    algorithm = b'{"name":"d","key":"d"}'
    classifications = b",".join(
        b'{"classification":"x","algorithm":%s,"labels":%s}' % (algorithm, each) for each in labels
    )
    return b'{"source_image_id":"1","algorithm":%s,"classifications":[%s]}' % (
        algorithm,
        classifications,
    )


def test_a_process_answer_at_its_caps_of_parts_at_theirs_is_read_within_100_mb() -> None:
    # Labels are at most 255 characters (the long strings of the mix are 250), and 100,000 per
    # classification (the part's values are shared by two).
    labels = costly_json(MAX_PART_BYTES // 2 - 1_000, MAX_PART_VALUES // 2 - 100, long_size=250)
    answer = in_parts(
        MAX_PROCESS_BYTES,
        MAX_RESULTS_VALUES,
        MAX_RESULTS_CONTAINERS,
        detection(labels, labels),
        lambda parts: b'{"pipeline":"p","detections":[%s]}' % b",".join(parts),
    )
    assert len(answer) > MAX_PROCESS_BYTES - MAX_PART_BYTES
    outcome, rise = measure_reading("process", answer, "application/json")
    assert outcome == "ok"
    assert rise <= MAX_RISE_MB, f"peak RSS rose {rise:.0f} MB"


def test_a_process_answer_over_its_value_cap_is_refused() -> None:
    junk = floats(MAX_RESULTS_VALUES + 10)
    outcome, _ = measure_reading("process", process_answer(junk), "application/json")
    assert f"more than {MAX_RESULTS_VALUES} JSON values" in outcome


def test_a_process_answer_with_a_part_over_its_caps_is_refused() -> None:
    heavy = detection(floats(MAX_PART_VALUES + 10))
    answer = b'{"pipeline":"p","detections":[%s,%s]}' % (detection(b"[]"), heavy)
    outcome, _ = measure_reading("process", answer, "application/json")
    assert f"detections[1] holds more than {MAX_PART_VALUES} JSON values" in outcome
