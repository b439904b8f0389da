"""The Jupyter server extension `python -m grader formgrade` loads next to nbgrader's formgrader.

Formgrader shows students' notebooks on the instructor's own origin, where a script could use the
instructor's login. These layers keep what a student wrote inert there (the first two each hold alone):

- Scripts: every response of this server carries a Content-Security-Policy. Only formgrader's own
  pages (known routes whose path parts are plain names) may run scripts, and only those carrying
  a nonce drawn afresh for each response. The nonce is put on the scripts of the page's <head>,
  which formgrader's templates write before any notebook content (the notebook's cells and outputs
  are all in <body>). Whatever a student wrote (markdown HTML, event handlers, javascript: links,
  iframes, SVG, text/html or JavaScript outputs, files served from the submission's folder) has no
  nonce, so the browser runs none of it; a response this extension cannot rewrite whole gets a
  policy allowing no script at all.
- Sanitised content (a second layer): the written configuration has nbconvert sanitise outputs
  and raw cells with the course's sanitiser (`grader.term.feedback.clean_fragment`) and formgrader's
  markdown cells through `inert_markdown`, so no <meta refresh>, form, style or frame is left.
- Refused actions: formgrader's buttons and endpoints that run nbgrader's own converters
  (generate/release feedback, autograde, assign, release, collect) bypass the course's sanitiser,
  sandbox and late rules; they answer 403 with the `python -m grader` command to use instead.
- No configuration from elsewhere: formgrader's `/formgrader?path=DIR` (a plain GET, so an image
  in a notebook could ask for it) would load and run DIR/nbgrader_config.py; it is refused.
- Read-only Jupyter API (`ReadOnlyAuthorizer`): no kernel, terminal or session, and no file
  written through the contents API, whatever the page.
"""

from __future__ import annotations

import re
import secrets

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from nbconvert.filters import strip_files_prefix
from tornado import web
from tornado.web import OutputTransform

from .feedback import clean_fragment

REFUSED = {
    "generate_feedback": "python -m grader feedback",
    "release_feedback": "python -m grader feedback",
    "autograde": "python -m grader grade",
    "assign": "python -m grader release",
    "release": "python -m grader release",
    "unrelease": "python -m grader release",
    "collect": "python -m grader grade (it collects the submissions it grades)",
}
NAME = r"[\w.@+-]+"  # assignment, notebook and student ids; nothing that breaks out of a string
PAGES = (rf"formgrader(/manage_assignments|/manage_submissions/{NAME}|/gradebook(/{NAME}){{0,2}}"
         rf"|/manage_students(/{NAME}){{0,2}}|/submissions/{NAME})?/?")
POLICY = ("default-src 'self'; script-src {scripts}; object-src 'none'; base-uri 'none'; "
          "frame-src 'none'; form-action 'self'; frame-ancestors 'self'; img-src 'self' data:; "
          "style-src 'self' 'unsafe-inline'; font-src 'self' data:")
SCRIPT_TAG = re.compile(rb"<script\b", re.IGNORECASE)
HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)


class Refused(JupyterHandler):
    """A formgrader action the course runs through `python -m grader` instead: 403, and why."""

    def _refuse(self, *args, **kwargs) -> None:
        action = self.path_kwargs["action"]
        message = (f"Refused: formgrader's '{action}' would skip the course's sanitiser, sandbox "
                   f"and late rules. Run `{REFUSED[action]}` instead.")
        self.set_status(403)
        self.finish({"success": False, "error": message, "message": message})

    get = post = put = delete = _refuse


class Entry(JupyterHandler):
    """/formgrader: to the assignments page, as formgrader does, but never with its ``path``."""

    @web.authenticated
    def get(self) -> None:
        if self.get_argument("path", ""):
            raise web.HTTPError(403, "formgrader reads the course's configuration only")
        self.redirect(url_path_join(self.base_url, "formgrader/manage_assignments"))


class ScriptPolicy(OutputTransform):
    """Adds the Content-Security-Policy to every response (see the module's docstring);
    ``pages`` matches the paths of formgrader's own pages."""

    pages = re.compile("/" + PAGES)

    def __init__(self, request) -> None:
        self.path = request.path

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        scripts = "'none'"
        page = finishing and self.pages.fullmatch(self.path)
        head = page and headers.get("Content-Type", "").startswith("text/html") and (
            HEAD_END.search(chunk))
        if head:
            nonce = secrets.token_urlsafe(18)
            chunk = (SCRIPT_TAG.sub(f'<script nonce="{nonce}"'.encode(), chunk[:head.start()])
                     + chunk[head.start():])
            headers["Content-Length"] = str(len(chunk))
            scripts = f"'nonce-{nonce}'"
        headers.add("Content-Security-Policy", POLICY.format(scripts=scripts))
        return status_code, headers, chunk


class ReadOnlyAuthorizer(Authorizer):
    """Jupyter's own API may read course_work/, nothing more: no kernels, terminals, sessions or
    writes (formgrader's handlers do not go through it and keep working)."""

    def is_authorized(self, handler, user, action, resource) -> bool:
        return action == "read" and resource not in {"kernels", "kernelspecs", "sessions",
                                                     "terminals"}


def inert_markdown(html: str) -> str:
    """nbconvert's `strip_files_prefix`, then the course's sanitiser: nbgrader's formgrade template
    puts every markdown cell through this filter (and not through `clean_html`)."""
    return clean_fragment(strip_files_prefix(html))


def _load_jupyter_server_extension(server) -> None:
    """Route the refused actions and the entry page (this extension loads before formgrader, whose
    routes come later) and put the policy on every response, before any compression."""
    webapp = server.web_app
    base = webapp.settings["base_url"]
    api = url_path_join(base, "formgrader/api")
    actions = "|".join(REFUSED)
    webapp.add_handlers(".*$", [
        (rf"{api}/(?:assignment/[^/]+(?:/[^/]+)?|submission/[^/]+/[^/]+)/(?P<action>{actions})/?",
         Refused),
        (url_path_join(base, "formgrader/?"), Entry)])
    ScriptPolicy.pages = re.compile(re.escape(url_path_join(base, "/")) + PAGES)
    webapp.transforms.insert(0, ScriptPolicy)


def _jupyter_server_extension_points():
    return [{"module": "grader.term.formgrader_guard"}]
