"""Ids typed or tampered into a form (a superscript digit, thousands of digits) are refused with
400 naming the field, on every form that takes one: none answers 500."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.protocol_client import Protocol
from tests.support.scenes import detail_of, heron, occurrences_of
from tests.support.web import Browser
from trapline.web.security import CSRF_HEADER

#: What is no id although ``str.isdigit`` says it is digits, or ``int`` refuses to read.
NOT_IDS = ["²", "9" * 5000, "١٢"]  # a superscript two, 5,000 nines, Arabic-Indic digits


@pytest.mark.parametrize("typed", NOT_IDS, ids=["superscript", "5000-digits", "arabic-indic"])
def test_a_form_refuses_what_is_no_id_naming_its_field(
    proto: Protocol, sign_in: Callable[..., Browser], typed: str
) -> None:
    pond, event = heron(proto)
    bird = max(occurrences_of(proto, event), key=lambda o: o["detection_count"])
    box = detail_of(proto, bird["id"])["detections"][0]["annotation_id"]
    browser = sign_in(proto.account)
    pid = proto.project_id
    forms: list[tuple[str, dict[str, Any], str]] = [
        (f"/projects/{pid}/identify", {"occurrence_ids": typed, "taxon": "Aves"}, "occurrence_ids"),
        (f"/events/{event}/identify", {"occurrence_ids": typed, "taxon": "Aves"}, "occurrence_ids"),
        (f"/events/{event}/merge", {"occurrence_ids": typed}, "occurrence_ids"),
        (f"/occurrences/{bird['id']}/split", {"detection_ids": typed}, "detection_ids"),
        (f"/occurrences/{bird['id']}/identify", {"agree_with": typed}, "agree_with"),
        (
            f"/projects/{pid}/jobs",
            {"pipeline": "trapline-constant", "scope": f"deployment:{typed}"},
            "scope",
        ),
        (f"/projects/{pid}/images/move", {"image": typed, "deployment": str(pond)}, "image"),
        (f"/projects/{pid}/images/move", {"image": str(box), "deployment": typed}, "deployment"),
        (f"/projects/{pid}/taxa/share", {"list_id": typed}, "list_id"),
    ]
    for path, data, field in forms:
        answer: Any = browser.post(path, data)
        assert answer.status_code == 400, (path, answer.status_code, answer.text[:300])
        assert field in answer.text, (path, answer.text[:300])
    imported = browser.client.post(
        f"/projects/{pid}/imports/megadetector",
        data={"csrf": browser.csrf(), "deployment": typed, "threshold": ""},
        files={"file": ("md.json", io.BytesIO(b"{}"), "application/json")},
    )
    assert imported.status_code == 400, imported.text[:300]
    assert "deployment: an id" in imported.text
    uploaded = browser.client.post(
        f"/projects/{pid}/upload",
        headers={CSRF_HEADER: browser.csrf()},
        data={"deployment": typed},
        files={"files": ("a.jpg", io.BytesIO(proto.jpeg(1)), "image/jpeg")},
    )
    assert uploaded.status_code == 400, uploaded.text[:300]
    assert "deployment" in uploaded.text
