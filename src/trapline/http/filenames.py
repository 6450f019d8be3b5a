"""The names uploaded files are stored under, whether the API or a page received them."""

from __future__ import annotations

import re
from pathlib import PurePosixPath, PureWindowsPath

#: What a stored filename drops: control characters (C0, DEL, C1), line and paragraph
#: separators, bidirectional text controls (``\u202egpj.exe`` would show as ``exe.jpg``) and
#: lone surrogates (no UTF-8 text can carry them).
_UNSHOWABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u2069\ufeff\ud800-\udfff]"
)


def clean_filename(name: str | None) -> str:
    """The name an uploaded file is stored under: its last path part, showable, at most 1024
    characters (``upload`` when nothing is left).

    Browsers and scripts may send paths; only the last part is kept, from either OS.
    """
    base = PureWindowsPath(PurePosixPath(name or "").name).name
    return _UNSHOWABLE.sub("", base).strip()[:1024] or "upload"
