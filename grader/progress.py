"""A progress line on stderr for the long commands (grade, release, publish):

    graded 3/12 submissions (ada 00_getting_started), 0:41 elapsed, ETA 1:50

On a terminal the line is rewritten in place; elsewhere (a log file, CI) each step is a line of
its own, so a log gets one line per step and no carriage returns. What a command prints as its
result stays on stdout.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable

from .text import terminal_safe


def clock(seconds: float) -> str:
    """``seconds`` as H:MM:SS, or M:SS under an hour."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressLine:
    """Counts steps out of ``total`` and writes where it stands, with the time left estimated
    from the average step so far. Called with the steps just done (anything printable)."""

    def __init__(self, verb: str, total: int, unit: str, stream=None):
        self.verb, self.total, self.unit = verb, total, unit
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = time.monotonic()

    def __call__(self, steps: Iterable) -> None:
        steps = list(steps)
        self.done += len(steps)
        elapsed = time.monotonic() - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        line = (f"{self.verb} {self.done}/{self.total} {self.unit}{'s' if self.total != 1 else ''} "
                f"({terminal_safe(str(steps[-1]))}), {clock(elapsed)} elapsed, ETA {clock(left)}")
        if self.stream.isatty():
            end = "\n" if self.done >= self.total else ""
            self.stream.write(f"\r\x1b[K{line}{end}")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
