"""Feedback pages that are safe to open and fair to show.

- Hidden tests are cut from the feedback (unless course.toml's [feedback] show_hidden_tests is
  true): `HideHiddenTests` runs in nbgrader's generate_feedback; a failed test cell still shows its
  error's name and message ("AssertionError: temperature ignored"), not the failing line.
- Every page is sanitised after nbgrader wrote it (`sanitise_folder`, with nh3, a maintained HTML
  sanitiser): no script, no event handler, no active URL; student HTML in markdown or outputs is
  inert. The page gets the course's own stylesheet and a Content-Security-Policy forbidding scripts.
"""

from __future__ import annotations

import html
from pathlib import Path

import nh3
from nbgrader.preprocessors import ClearHiddenTests

HIDDEN_NOTE = "# (hidden tests ran here; they are not shown in feedback)"
TAGS = nh3.ALLOWED_TAGS | {"section", "main"}
ATTRIBUTES = {**{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
              "*": {"class", "id", "title"}}
POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}
pre{background:#f6f6f6;padding:.5em;overflow-x:auto}.review{border:2px solid #b00;padding:.5em}"""


class HideHiddenTests(ClearHiddenTests):
    """Remove the hidden-test region of each test cell, and the failing line from its error."""

    enforce_metadata = False

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and self._remove_hidden_test_region(cell):
            cell.source = cell.source.rstrip() + "\n" + HIDDEN_NOTE
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output.traceback = [f"{output.get('ename')}: {output.get('evalue')}"]
        return cell, resources


def _safe_url(tag: str, attribute: str, value: str) -> str | None:
    """Keep links to the web and embedded images; drop every other URL (javascript:, data:...)."""
    if attribute not in ("href", "src"):
        return value
    if tag == "img" and attribute == "src" and value.startswith("data:image/"):
        return value
    return value if value.startswith(("http://", "https://", "#")) else None


def clean_fragment(fragment: str | bytes) -> str:
    """HTML with nothing active left in it: no script, event handler, style or active URL (also
    formgrader's filter for what students wrote, grader/term/formgrader_guard.py)."""
    fragment = fragment.decode(errors="replace") if isinstance(fragment, bytes) else str(fragment)
    return nh3.clean(fragment, tags=TAGS, attributes=ATTRIBUTES, attribute_filter=_safe_url,
                     clean_content_tags={"script", "style", "title", "head"}, link_rel=None,
                     url_schemes={"http", "https", "data"})


def sanitise_page(page: str, notes: list[str]) -> str:
    """A feedback page with nothing active left in it, plus the course's ``notes`` on top."""
    body = clean_fragment(page)
    top = "".join(f"<p class='review'>{html.escape(note)}</p>" for note in notes)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{POLICY}\">"
            f"<title>Feedback</title><style>{STYLE}</style></head><body>{top}{body}</body></html>\n")


def sanitise_folder(folder: Path, notes: list[str] = ()) -> None:
    """Sanitise every HTML page of a student's feedback folder in place."""
    for page in sorted(folder.glob("*.html")):
        page.write_text(sanitise_page(page.read_text(errors="replace"), list(notes)))
