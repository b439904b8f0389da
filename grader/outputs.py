"""Cap the size of what a graded notebook keeps: a cell printing 100 MB must not reach feedback."""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer


class TruncateOutput(NbGraderPreprocessor):
    """Keep at most ``max_chars`` characters of text output per code cell (nbgrader's own
    LimitOutput counts lines only, and one line can be 100 MB long)."""

    max_chars = Integer(20_000, help="characters of stream/text output kept per cell").tag(
        config=True
    )

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code":
            return cell, resources
        budget = self.max_chars
        for output in cell.outputs:
            if output.output_type == "stream":
                output.text, budget = _cut(output.text, budget)
            elif "data" in output and "text/plain" in output.data:
                output.data["text/plain"], budget = _cut(output.data["text/plain"], budget)
        return cell, resources


def _cut(text: str, budget: int) -> tuple[str, int]:
    """(text cut to ``budget`` characters with a note, budget left)."""
    if len(text) <= budget:
        return text, budget - len(text)
    return text[: max(budget, 0)] + f"\n... output truncated ({len(text):,} characters) ...", 0
