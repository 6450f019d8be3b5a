"""One line of text is refused the same characters everywhere: the wire models' pattern
(``protocol.base.ONE_LINE``, which the worker installs without the domain) and the domain's
rule for forms, typed lines and files' cells (``domain/core/text.py``)."""

from __future__ import annotations

import re

from trapline.domain.core.text import NOT_IN_A_LINE, NOT_ONE_LINE
from trapline.protocol.base import ONE_LINE


def test_the_wire_pattern_names_the_domains_characters() -> None:
    assert f"^[^{NOT_IN_A_LINE}]*$" == ONE_LINE


def test_each_character_is_refused_by_both_or_by_neither() -> None:
    wire = re.compile(ONE_LINE)
    differ = [
        hex(c)
        for c in range(0x10000)
        if not 0xD800 <= c <= 0xDFFF
        and (wire.fullmatch(chr(c)) is None) != bool(NOT_ONE_LINE.search(chr(c)))
    ]
    assert differ == []


def test_joiners_stay_and_controls_go() -> None:
    assert not NOT_ONE_LINE.search("Noc\u200dtua \u200c")
    assert [c for c in "a\x00b\x1fc\x85d\u202ee\ufeff" if NOT_ONE_LINE.search(c)] == [
        "\x00", "\x1f", "\x85", "\u202e", "\ufeff",
    ]  # fmt: skip
