"""The progress line of grade, release and publish (grader/progress.py): one line per step in a
log, one line rewritten in place on a terminal, and the ETA from the average step so far."""

from __future__ import annotations

import io

from grader.progress import ProgressLine, clock


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_one_plain_line_per_step_with_the_time_left():
    log = io.StringIO()
    progress = ProgressLine("graded", 3, "submission", log)
    progress.started -= 20  # as if the first step took 20 s
    progress(["ada 00_getting_started"])
    progress(["bob 00_getting_started", "eve\x1b[2J 00_getting_started"])
    lines = log.getvalue().splitlines()
    assert lines[0] == "graded 1/3 submissions (ada 00_getting_started), 0:20 elapsed, ETA 0:40"
    assert lines[1].startswith("graded 3/3 submissions (eve\\x1b[2J 00_getting_started), 0:20")
    assert lines[1].endswith("ETA 0:00") and len(lines) == 2 and "\r" not in log.getvalue()


def test_a_terminal_gets_one_line_rewritten_and_ended_at_the_last_step():
    screen = Terminal()
    progress = ProgressLine("released", 2, "lab", screen)
    progress(["00_getting_started"])
    assert screen.getvalue().startswith("\r\x1b[Kreleased 1/2 labs (00_getting_started)")
    assert "\n" not in screen.getvalue()
    progress(["01_char_lstm_keras"])
    assert screen.getvalue().count("\r\x1b[K") == 2 and screen.getvalue().endswith("ETA 0:00\n")


def test_clock():
    assert (clock(5), clock(65.4), clock(3725)) == ("0:05", "1:05", "1:02:05")
