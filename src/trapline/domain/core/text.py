"""What one line of text (a name, a label, an identity) never holds: a form's field, a line
typed, a file's cell. The wire models' rule, ``protocol.base.ONE_LINE``, names the same
characters (the worker installs ``protocol`` without the domain: tests/unit hold the two to
each other)."""

from __future__ import annotations

import re

#: Control characters, C1 ones included; the line and paragraph separators (U+2028, U+2029);
#: the bidirectional controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069); and the
#: invisible characters (U+200B, U+2060-U+2064, U+FEFF) that would make a name read otherwise
#: than it is. The zero-width joiners (U+200C, U+200D) are not among them: scripts and emoji
#: need them. A character class's inside, for patterns.
NOT_IN_A_LINE = (
    r"\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
)
#: A character one line of text never holds.
NOT_ONE_LINE = re.compile(f"[{NOT_IN_A_LINE}]")
