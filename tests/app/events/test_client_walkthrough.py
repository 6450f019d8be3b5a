"""docs/client.md's walk-through from a project to an activity histogram and a count matrix,
run as it is written: its Python blocks, in order, with ``trapline.client`` talking to the
app of the test (both databases) on the scene of tests/support/camtrap_scene.py; then what
they made compared with what the scene's table gives by hand. Also: the client's rows without
pandas, and the install hint when pandas is missing."""

from __future__ import annotations

import builtins
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.camtrap_scene import build_camtrap_scene
from tests.support.protocol_client import Protocol
from tests.support.worker_runs import python_client
from trapline.client.rows import INSTALL_HINT

DOC = Path(__file__).parents[3] / "docs" / "client.md"
SECTION = "## From a project to an activity histogram and a count matrix"


def _walkthrough() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_walkthrough_runs_as_written(proto: Protocol) -> None:
    pytest.importorskip("pandas")
    scene = build_camtrap_scene(proto)
    blocks = _walkthrough()
    assert len(blocks) == 5
    assert blocks[0].startswith("project_id = 2 ")
    blocks[0] = blocks[0].replace("project_id = 2 ", f"project_id = {proto.project_id} ", 1)
    names: dict[str, Any] = {"api": python_client(proto)}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), names)  # noqa: S102 - our own documentation

    assert len(names["occurrences"]) == 11
    records = names["records"]
    assert list(zip(records["Station"], records["Species"], records["Time"], strict=True)) == [
        ("A", "Ardea alba", "20:50:00"),
        ("A", "Ardea alba", "09:00:00"),
        ("A", "Ardea cinerea", "20:00:00"),
        ("A", "Ardea cinerea", "06:00:00"),
        ("B", "Ardea alba", "21:00:00"),
        ("B", "Ardea cinerea", "22:00:00"),
    ]
    assert list(records["delta.time.hours"]) == [0, 60.2, 0, 9.3, 0, 0]
    activity = names["activity"]
    assert activity.sum().to_dict() == {"Ardea alba": 3, "Ardea cinerea": 3}
    assert activity.loc[[6, 9, 20, 21, 22]].to_dict("index") == {
        6: {"Ardea alba": 0, "Ardea cinerea": 1},
        9: {"Ardea alba": 1, "Ardea cinerea": 0},
        20: {"Ardea alba": 1, "Ardea cinerea": 1},
        21: {"Ardea alba": 1, "Ardea cinerea": 0},
        22: {"Ardea alba": 0, "Ardea cinerea": 1},
    }
    assert names["matrix"].to_dict("index") == {
        "Ardea alba": {"A": 2, "B": 3},
        "Ardea cinerea": {"A": 5, "B": 1},
    }
    assert names["egret"] == scene.taxa["Ardea alba"]
    table = names["table"].astype(object).where(names["table"].notna(), None)
    assert table[["start", "o1", "o2", "effort_o1", "effort_o2"]].to_dict("index") == {
        "A": {"start": "2024-03-01", "o1": 1, "o2": 1, "effort_o1": 1.5, "effort_o2": 0.5},
        "B": {"start": "2024-03-02", "o1": 1, "o2": None, "effort_o1": 1, "effort_o2": None},
    }
    assert names["history"].warnings == []


def test_rows_are_dicts_without_pandas(proto: Protocol, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = build_camtrap_scene(proto)
    api = python_client(proto)
    never = api.detection_history(proto.project_id, scene.taxa["Egretta garzetta"])
    assert [[r[f"o{n}"] for n in range(1, 5)] for r in never] == [[0, 0, None, 0],
                                                                    [0, 0, None, None]]  # fmt: skip
    assert "no records" in never.warnings[0]
    operation = list(api.camera_operation(proto.project_id))
    assert operation[1] == {
        "station": "B", "deployment_id": scene.b, "setup": "2024-03-02",
        "retrieval": "2024-03-03", "2024-03-01": None, "2024-03-02": 0.5, "2024-03-03": 0.5,
        "2024-03-04": None,
    }  # fmt: skip
    first = next(iter(api.record_table(proto.project_id, min_delta_minutes=30)))
    assert first["delta.time.secs"] == 0
    assert first["taxon_id"] == scene.taxa["Ardea alba"]
    assert len(list(api.events(proto.project_id))) == 9
    assert sum(r["individuals"] for r in api.counts(proto.project_id, by="deployment")) == 11

    real_import = builtins.__import__

    def without_pandas(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pandas":
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_pandas)
    with pytest.raises(ImportError, match=re.escape(INSTALL_HINT)):
        api.occurrences(proto.project_id).to_pandas()
