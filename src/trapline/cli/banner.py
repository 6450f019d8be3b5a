"""What ``trapline up`` tells a person once it is ready: the last thing it prints, in a box."""

from __future__ import annotations

from collections.abc import Sequence

#: Widest a line inside the box gets before it is allowed to stick out (long tokens, URLs).
_MAX_WIDTH = 100


def boxed(lines: Sequence[str]) -> str:
    """``lines`` framed, so they stand out from the log lines above them."""
    width = min(max(len(line) for line in lines), _MAX_WIDTH)
    edge = "+" + "-" * (width + 2) + "+"
    return "\n".join([edge, *(f"| {line.ljust(width)} |" for line in lines), edge])
