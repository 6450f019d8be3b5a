"""The export form's settings of camtrapR's tables (docs/analysis.md): the fields, camtrapR's
defaults they are filled with, what each choice means in a few words, and reading them back.

A setting left at its default is not sent to the service, so an export's filters list only
what the person changed, and a form whose table fields stayed as filled starts any format;
a changed setting of a format that does not take it is refused beside its field.
"""

from __future__ import annotations

import math
from typing import Any

from trapline.domain.exports.exports import ExportFormat

#: The tables' fields as typed, each with the value the form is filled with (camtrapR's
#: default; trapline's where docs/analysis.md says it differs). An empty one means none.
DEFAULTS = {
    "min_delta_minutes": "0",
    "delta_compared_to": "lastRecord",
    "remove_duplicate_records": "true",
    "empty_days": "off",
    "setup_days": "half",
    "taxon": "",
    "occasion_length": "1",
    "day1": "station",
    "output": "binary",
    "min_active_days": "",
}
#: The tables' box, ticked or not.
BOX = "include_effort"
#: The fields whose value is a number.
_NUMBERS = ("min_delta_minutes", "occasion_length")

#: What each choice of the tables' menus means, as the form offers it.
CHOICES: dict[str, dict[str, str]] = {
    "delta_compared_to": {
        "lastRecord": "the sighting before, kept or not (camtrapR's default)",
        "lastIndependentRecord": "the record before (a long run gives a record every interval)",
    },
    "remove_duplicate_records": {
        "true": "one record (camtrapR's default)",
        "false": "a record per individual",
    },
    "empty_days": {
        "off": "not operating, 0 (a flat battery more likely than an empty forest)",
        "operating": "operating, 1 (camtrapR's rule without problem periods)",
    },
    "setup_days": {
        "half": "half a day each, 0.5 (camtrapR's default)",
        "whole": "a whole day each, 1",
    },
    "day1": {
        "station": "each station's setup day",
        "survey": "the survey's first day, for every station (camtrapR's default)",
    },
    "output": {
        "binary": "1 when recorded, else 0",
        "count": "the number of records",
    },
}
#: The formats each group of the form's fields is for (the page's script shows a group only
#: with its formats; without the script, every group shows).
GROUPS = {
    "records": (ExportFormat.RECORD_TABLE, ExportFormat.DETECTION_HISTORY),
    "days": (ExportFormat.CAMERA_OPERATION, ExportFormat.DETECTION_HISTORY),
    "history": (ExportFormat.DETECTION_HISTORY,),
    "results": tuple(f for f in ExportFormat if not f.tabled),
}


def typed(form: Any) -> dict[str, Any]:
    """The tables' fields as the form sent them; a field the form did not send (its group
    hidden by the page's script) is at its default."""
    values: dict[str, Any] = {}
    for name, default in DEFAULTS.items():
        sent = form.get(name)
        values[name] = default if sent is None else str(sent).strip()
    values[BOX] = form.get(BOX) == "on"
    return values


def shown_empty() -> dict[str, Any]:
    """The tables' fields of a new form."""
    return {**DEFAULTS, BOX: False}


def given(values: dict[str, Any]) -> dict[str, Any]:
    """The settings the person changed from their defaults, as the API's input takes them
    (the taxon's text is read apart)."""
    out: dict[str, Any] = {}
    for name, default in DEFAULTS.items():
        value = values[name]
        if name == "taxon" or value == default or (name in _NUMBERS and _same(value, default)):
            continue
        if name == "remove_duplicate_records" and value in ("true", "false"):
            out[name] = value == "true"
        else:
            out[name] = value
    if values[BOX]:
        out[BOX] = True
    return out


def _same(text: str, default: str) -> bool:
    """Whether a typed number is the default's (``0.0`` and ``0`` alike)."""
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        return False
    return math.isfinite(number) and number == float(default)
