"""The course as a website: Sphinx, with the executed lesson notebooks read by myst-nb.

    .venv/bin/sphinx-build -b html docs site       # then open site/index.html

Nothing is executed and nothing is downloaded: each chapter page shows the outputs stored in
``lessons/NN_*.ipynb`` (``nb_execution_mode = "off"``), the theme ships its assets in its wheel,
and MathJax comes from the ``sphinx-mathjax-offline`` package, copied into ``site/_static``.
Before reading the sources, this file copies the notebooks into ``docs/lessons/`` and writes the
API reference's pages into ``docs/api/`` (one per layer of ``tinygrad_ft.layout``); both are
generated, and git-ignored. Each chapter page links to its notebook, copied beside the page.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))

from tinygrad_ft import layout  # noqa: E402

project = "tinygrad_ft"
author = "the tinygrad_ft authors"
copyright = "the tinygrad_ft authors, MIT licence"
html_title = "tinygrad_ft: build and fine-tune a tiny GPT"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "plain_docstrings",  # the docstrings are plain text with ``literals``: shown as written
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax 3 from the package, not from a CDN
]
exclude_patterns = ["_build", "README.md"]
suppress_warnings = ["myst.header"]  # a notebook's sections may skip a heading level

# ---- the notebooks: stored outputs, never executed here ------------------------------------
nb_execution_mode = "off"
nb_merge_streams = True
nb_ipywidgets_js = {}  # no widgets: nothing to fetch from a CDN
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# ---- the API reference -----------------------------------------------------------------------
autodoc_mock_imports = ["cupy"]
autodoc_default_options = {"members": True, "show-inheritance": True, "member-order": "bysource"}
autodoc_typehints = "description"

# ---- the look: everything served from the site itself -----------------------------------------
highlight_language = "text"  # the docstrings' indented blocks are derivations more often than code
html_theme = "sphinx_book_theme"
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "use_download_button": False,  # each chapter links to its notebook at the top of the page
    "use_fullscreen_button": False,
    "show_toc_level": 2,
}
html_context = {"default_mode": "light"}  # a mode set, so the theme's script has none to complain of
html_favicon = "_static/favicon.svg"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_copy_source = False
html_show_sourcelink = False


def copy_if_changed(source: Path, target: Path) -> None:
    if not target.exists() or target.read_bytes() != source.read_bytes():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def stage_notebooks() -> None:
    """``lessons/NN_*.ipynb`` into ``docs/lessons/`` (only the ones that changed, so that an
    incremental build rereads only those); a chapter no longer in lessons/ goes."""
    wanted = {path.name: path for path in sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))}
    staged = DOCS / "lessons"
    staged.mkdir(exist_ok=True)
    for old in staged.glob("*.ipynb"):
        if old.name not in wanted:
            old.unlink()
    for name, path in wanted.items():
        copy_if_changed(path, staged / name)


def submodules(name: str) -> list:
    """The modules inside layer ``name`` (a folder of the package), by their files: nothing is
    imported here (the CUDA ones import CuPy, which autodoc mocks)."""
    folder = ROOT / "tinygrad_ft" / name
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if len(parts) > 2:  # not the layer's own __init__
            found.append(".".join(parts))
    return found


def write_api_pages() -> None:
    """One page per layer of the package, bottom to top, each module with its docstrings (the
    derivations of the backward passes are there, above each op)."""
    pages = DOCS / "api"
    pages.mkdir(exist_ok=True)
    index = [
        "API reference", "=============", "",
        "The package is a stack of layers, each importing only the layers below it; they are listed",
        "here from the bottom (devices and the engine) to the top (the command line), with what each holds.",
        "The docstrings are the library's own: the derivation of each backward pass is above its code.", "",
        ".. toctree::", "   :maxdepth: 1", "",
    ]
    for name, what in layout.LAYERS:
        package = (ROOT / "tinygrad_ft" / name).is_dir()
        title = f"``tinygrad_ft.{name}``: {what}"
        lines = [title, "=" * len(title), "", f".. automodule:: tinygrad_ft.{name}"]
        # a package's page documents what it defines; what it re-exports is on its modules' pages
        lines += ["   :ignore-module-all:", ""] if package else [""]
        for sub in submodules(name):
            heading = f"``{sub}``"
            lines += [heading, "-" * len(heading), "", f".. automodule:: {sub}", "   :ignore-module-all:", ""]
        text = "\n".join(lines)
        target = pages / f"{name}.rst"
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
        index.append(f"   {name}")
    text = "\n".join(index) + "\n"
    if not (pages / "index.rst").exists() or (pages / "index.rst").read_text() != text:
        (pages / "index.rst").write_text(text)


stage_notebooks()
write_api_pages()


def link_notebook(app, pagename, templatename, context, doctree):
    """At the top of each chapter: a link to its notebook (copied beside the page)."""
    if pagename.startswith("lessons/") and "body" in context:
        name = pagename.split("/", 1)[1] + ".ipynb"
        link = (f'<p class="notebook-link">This chapter as a Jupyter notebook, with its outputs: '
                f'<a class="reference download" href="{name}" download>{name}</a> '
                f'(run it from the repository\'s <code>lessons/</code> folder).</p>\n')
        context["body"] = link + context["body"]


def copy_notebooks(app, exception):
    if exception is None and app.builder.format == "html":
        for path in sorted((DOCS / "lessons").glob("*.ipynb")):
            copy_if_changed(path, Path(app.outdir) / "lessons" / path.name)


def keep_outputs_in_the_build(app):
    """myst-nb writes the notebooks' images into ``jupyter_execute/`` beside the output folder
    (for ``docs site``: the repository's root); keep them with Sphinx's other caches instead."""
    config = getattr(app.env, "mystnb_config", None)
    if config is not None:
        app.env.mystnb_config = config.copy(output_folder=str(Path(app.doctreedir) / "jupyter_execute"))


def setup(app):
    app.connect("builder-inited", keep_outputs_in_the_build, priority=900)  # after myst-nb's own
    app.connect("html-page-context", link_notebook)
    app.connect("build-finished", copy_notebooks)
