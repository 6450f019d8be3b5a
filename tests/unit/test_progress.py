"""The client's progress bar: redrawn in place on a terminal, one final line elsewhere."""

from __future__ import annotations

import io

from trapline.client.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_the_bar_move_and_end_on_a_line() -> None:
    screen = _Terminal()
    bar = Progress(4, "upload", stream=screen)
    bar.advance(2)
    bar.advance(2, "done")  # the last step is always drawn
    bar.close()
    text = screen.getvalue()
    assert text.startswith("\rupload [###############---------------] 2/4")
    assert "\rupload [##############################] 4/4" in text
    assert text.endswith("done\n")


def test_elsewhere_only_the_final_line_is_written() -> None:
    log = io.StringIO()
    bar = Progress(3, "job 7", stream=log)
    bar.advance(3)
    assert log.getvalue() == ""
    bar.close()
    assert log.getvalue().startswith("job 7 [##############################] 3/3 (")
    assert log.getvalue().count("\n") == 1
