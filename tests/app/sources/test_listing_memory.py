"""Remote answers at their caps are read within 100 MB; past them, refused with a clear error.

Each answer is served by a loopback HTTP server to the real gateway (or service client) in a
child process that measures its own peak RSS (``tests/support/peak_memory.py``).
"""

from __future__ import annotations

from tests.support.peak_memory import MAX_RISE_MB, costly_json, floats, measure_reading
from trapline.protocol.base import MAX_RESULTS_VALUES
from trapline.services.service_client import MAX_PROCESS_BYTES
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


def test_a_process_answer_at_its_caps_is_read_within_100_mb() -> None:
    junk = costly_json(MAX_PROCESS_BYTES - 100, MAX_RESULTS_VALUES)
    outcome, rise = measure_reading("process", process_answer(junk), "application/json")
    assert outcome == "ok"
    assert rise <= MAX_RISE_MB, f"peak RSS rose {rise:.0f} MB"


def test_a_process_answer_over_its_value_cap_is_refused() -> None:
    junk = floats(MAX_RESULTS_VALUES + 10)
    outcome, _ = measure_reading("process", process_answer(junk), "application/json")
    assert f"more than {MAX_RESULTS_VALUES} JSON values" in outcome
