"""The class edition's JupyterLab shows students none of nbgrader's tools (formgrader, create
assignment, course and assignment lists, and Validate, which `make check` replaces): checked over
HTTP and in headless Chromium, on one JupyterLab that the edition's `make lab` starts with this
environment."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys

import nbgrader
from chromium import needs_chromium
from test_jupyterlab import make_lab

pytestmark = needs_chromium
INSTRUCTOR_PLUGINS = {"@jupyter/nbgrader:menu", "@jupyter/nbgrader:formgrader",
                      "@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:course-list",
                      "@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:validate-assignment"}
NOTEBOOK = "00_getting_started/getting_started.ipynb"
WAIT_S = 60  # for the lab's page to show the notebook and its cells


def page_config(page: bytes) -> dict:
    """The JSON that the lab's page hands its front end (jupyter-config-data)."""
    found = re.search(rb'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page,
                      re.DOTALL)
    return json.loads(found.group(1))


def shown(browser, selector: str, attribute: str = "textContent") -> list[str]:
    return browser.execute_script(
        f"return Array.from(document.querySelectorAll({selector!r}), e => e.{attribute})")


def test_class_editions_jupyterlab_shows_no_instructor_tool(class_edition, tmp_path, browser):
    """`make lab` of a copy of the edition, its set-up taken as done (-o) and this environment's
    Python (nbgrader's server and lab extensions installed and enabled) as the edition's."""
    from selenium.webdriver.support.ui import WebDriverWait

    copy = tmp_path / "rnn-labs"
    shutil.copytree(class_edition, copy)
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    options = ("-o", ".venv/.stamp-install", "-o", "data/generated/.stamp-data", f"PY={sys.executable}")
    with make_lab(copy, wait_s=90, env=env, make_options=options) as lab:
        assert lab.get("/formgrader")[0] == 404
        assert lab.get("/assignments")[0] == lab.get("/courses")[0] == 404, "nbgrader's exchange lists"
        assert lab.get(f"/nbgrader_version?version={nbgrader.__version__}")[0] == 404, "Validate's"
        config = page_config(lab.get("/lab")[1])
        assert "@jupyter/nbgrader" in {e["name"] for e in config["federated_extensions"]}
        assert set(config["disabledExtensions"]) >= INSTRUCTOR_PLUGINS

        browser.get(f"{lab.url}/lab/tree/{NOTEBOOK}?token={lab.token}")
        WebDriverWait(browser, WAIT_S).until(lambda b: len(shown(b, ".jp-NotebookPanel .jp-Cell")) > 1
                                             and shown(b, ".jp-NotebookPanel .jp-Toolbar"))
        browser.save_screenshot(str(tmp_path / "class_edition_jupyterlab.png"))
        menus = shown(browser, "#jp-menu-panel .lm-MenuBar-itemLabel")
        assert "Kernel" in menus and not {"Nbgrader", "Formgrader"} & set(menus), menus
        tabs = shown(browser, ".jp-SideBar .lm-TabBar-tab", "title")
        assert "Table of Contents" in tabs and not [t for t in tabs if "Assignment" in t], tabs
        assert not browser.execute_script("return document.getElementById('nbgrader-create_assignemnt')")
        assert not shown(browser, ".validate-button"), "nbgrader's Validate button"
    assert "Unwritable directory" not in lab.output
