"""The course as a website (``docs/``, Sphinx with myst-nb): it builds from the stored outputs of the
notebooks, offline, and reads well in a real browser.

The site is built once for this file, into a temporary folder, the way the README says:

    .venv/bin/sphinx-build -b html docs site

The browser test serves it on 127.0.0.1 and opens every chapter in headless Chromium (Debian's
``chromium``, driven by Playwright): no console errors, no request that leaves the machine, every
formula typeset, every image loaded, and the "next" links lead from the first page through every
chapter in the course's order. It is skipped, visibly, where no browser is installed
(``.ci/run`` installs one). Screenshots of two pages are saved in ``out/site-screenshots/``.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = [p.stem for p in sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))]
SCREENSHOTS = ROOT / "out" / "site-screenshots"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The built site's folder (and how long the build took, and its warnings)."""
    out = tmp_path_factory.mktemp("site")
    warnings = out.parent / "sphinx-warnings.txt"
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-w", str(warnings), "docs", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    seconds = time.perf_counter() - start
    assert result.returncode == 0, f"sphinx-build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    print(f"site built in {seconds:.0f} s")
    return out, warnings.read_text()


def test_site_builds_without_warnings(site):
    _, warnings = site
    assert warnings == "", f"sphinx-build warned:\n{warnings[:5000]}"


def test_every_chapter_has_a_page_and_its_notebook(site):
    out, _ = site
    for name in CHAPTERS:
        page = out / "lessons" / f"{name}.html"
        assert page.exists(), f"no page for {name}"
        assert f'href="{name}.ipynb"' in page.read_text(encoding="utf-8"), f"{name}.html does not link its notebook"
        notebook = out / "lessons" / f"{name}.ipynb"
        assert notebook.read_bytes() == (ROOT / "lessons" / f"{name}.ipynb").read_bytes()


def test_the_index_lists_the_chapters_in_the_course_order(site):
    out, _ = site
    index = (out / "index.html").read_text(encoding="utf-8")
    toctree = index.split('class="toctree-wrapper', 1)[1]
    linked = re.findall(r'href="lessons/([0-9]{2}_\w+)\.html"', toctree)
    assert linked[: len(CHAPTERS)] == CHAPTERS


def test_the_api_reference_has_a_page_per_layer_with_the_derivations(site):
    from tinygrad_ft import layout

    out, _ = site
    for name in layout.NAMES:
        assert (out / "api" / f"{name}.html").exists(), f"no API page for tinygrad_ft.{name}"
    functional = re.sub(r"<[^>]+>", "", (out / "api" / "functional.html").read_text(encoding="utf-8"))
    # Softmax's backward, derived in its docstring, shown as written
    assert "dL/dxⱼ = Σᵢ gᵢ pᵢ (δᵢⱼ - pⱼ) = pⱼ (gⱼ - Σᵢ gᵢ pᵢ)" in functional


def test_nothing_is_fetched_from_elsewhere(site):
    """Every script, style sheet, font and image is in the site: it reads offline, from disk."""
    out, _ = site
    assert (out / "_static" / "mathjax" / "tex-chtml.js").exists()
    remote = re.compile(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="(?:https?:)?//', re.I)
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        found = remote.search(text)
        assert found is None, f"{page.relative_to(out)} loads {text[found.start():found.start() + 200]}"


# ---- in a real browser ---------------------------------------------------------------------------

def chromium_executable():
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: no browser test")
    executable = chromium_executable()
    if executable is None:
        pytest.skip("no Chromium installed (apt-get install chromium): the site is not checked in a browser")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(site):
    """The site, served by ``python -m http.server`` on 127.0.0.1; its base URL."""
    out, _ = site
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(base, timeout=1).close()
                break
            time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


# The page's prose, without code, outputs and typeset maths: what must hold no raw TeX.
PROSE = """() => {
    const article = document.querySelector('article') || document.body;
    const copy = article.cloneNode(true);
    copy.querySelectorAll('pre, code, script, style, mjx-container, .cell_output, .highlight').forEach(e => e.remove());
    return copy.innerText;
}"""
RAW_TEX = re.compile(r"\$[^$\n]+\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\frac|\\sum")

TYPESET = """async () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
    return {
        formulas: document.querySelectorAll('mjx-container').length,
        errors: document.querySelectorAll('mjx-merror').length,
        images: Array.from(document.images).map(
            img => ({src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0})),
        next: (document.querySelector('a.right-next') || {}).href || null,
        title: document.title,
    };
}"""


class Page:
    """One page opened in the browser, with what went wrong while it loaded."""

    def __init__(self, browser, url):
        self.page = browser.new_page(viewport={"width": 1200, "height": 800})
        self.errors, self.remote, self.url = [], [], url
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"script: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))
        self.page.on("response", lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status}: {r.url}"))
        self.page.on("request", lambda r: not r.url.startswith(("http://127.0.0.1", "data:", "blob:"))
                     and self.remote.append(r.url))
        self.page.goto(url, wait_until="networkidle")
        self.facts = self.page.evaluate(TYPESET)
        self.raw_tex = RAW_TEX.findall(self.page.evaluate(PROSE))

    def close(self):
        self.page.close()


def check(page, name, problems):
    """What a reader would see go wrong on one chapter page; its figures for the report."""
    facts = page.facts
    broken = [img["src"] for img in facts["images"] if not img["ok"]]
    for what, found in (("errors", page.errors), ("requests off the machine", page.remote),
                        ("untypeset TeX", page.raw_tex), ("images not loaded", broken)):
        if found:
            problems.append(f"{name}: {what}: {found[:5]}")
    if facts["errors"]:
        problems.append(f"{name}: {facts['errors']} formulas MathJax could not typeset")
    return {"chapter": name, "formulas": facts["formulas"], "images": len(facts["images"]),
            "console_errors": len(page.errors), "untypeset": len(page.raw_tex)}


@pytest.fixture(scope="module")
def tour(browser, served):
    """Open the home page, then follow "next" from page to page, as a reader would, until the
    chapters are behind; check each chapter page on the way (any chapter the links missed is
    opened directly). Screenshots of chapter 1's opening and of chapter 7's first plot."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    visited, report, problems, url = [], {}, [], served
    for _ in range(len(CHAPTERS) + 5):
        page = Page(browser, url)
        path = url[len(served):]
        visited.append(path)
        nxt = page.facts["next"]
        if path.startswith("lessons/"):
            name = path.removeprefix("lessons/").removesuffix(".html")
            report[name] = check(page, name, problems)
            if name.startswith(("01_", "07_")):
                if name.startswith("07_"):
                    page.page.locator("article img").first.scroll_into_view_if_needed()
                page.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
        elif page.errors:
            problems.append(f"{path or 'index.html'}: errors: {page.errors[:5]}")
        page.close()
        if nxt is None or "lessons/" not in nxt and path.startswith("lessons/"):
            break
        url = nxt
    for name in CHAPTERS:
        if name not in report:
            page = Page(browser, f"{served}lessons/{name}.html")
            report[name] = check(page, name, problems)
            page.close()
    pages = [report[name] for name in CHAPTERS]
    totals = {key: sum(r[key] for r in pages) for key in ("formulas", "images", "console_errors", "untypeset")}
    print(f"{len(pages)} chapter pages checked: {json.dumps(totals)}")
    (SCREENSHOTS / "report.json").write_text(json.dumps({"pages": pages, "totals": totals}, indent=1))
    return {"visited": visited, "totals": totals, "problems": problems}


@pytest.mark.browser
def test_every_chapter_reads_well_in_a_browser(tour):
    """No console error, no request off the machine, every formula typeset, every image loaded."""
    assert not tour["problems"], "\n".join(tour["problems"])
    assert tour["totals"]["formulas"] > 100  # the maths is there, and typeset
    assert tour["totals"]["images"] >= 30  # the plots


@pytest.mark.browser
def test_the_next_links_lead_through_every_chapter_in_order(tour):
    """From the home page, following "next" reaches each chapter in turn."""
    chapters = [v.removeprefix("lessons/").removesuffix(".html") for v in tour["visited"] if v.startswith("lessons/")]
    assert chapters == CHAPTERS


@pytest.mark.browser
def test_home_page_and_api_reference_load_cleanly(browser, served):
    for path in ("index.html", "api/index.html", "api/functional.html", "search.html?q=softmax"):
        page = Page(browser, served + path)
        if path == "index.html":
            page.page.screenshot(path=str(SCREENSHOTS / "index.png"))
        assert not page.errors, f"{path}: {page.errors}"
        assert not page.remote, f"{path}: requests off the machine: {page.remote}"
        page.close()
