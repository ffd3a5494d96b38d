"""What the three builders (ch00_04.py, ch05_10.py, ch11_15.py) share: turning a chapter's
source into a notebook, executing it, and writing it with its outputs.

A chapter's source is text in which a line ``%% md`` starts a markdown cell and a line
``%% code`` a code cell; ``%% setup`` is replaced by a code cell holding the builder's SETUP.
A chapter's first code cell is usually made by ``setup_cell``: its imports, in the order ruff's
isort check wants them, then the lines every chapter starts with.
Notebooks are executed from ``lessons/`` (as Jupyter and nbmake run them), with
MPLBACKEND=Agg, and saved with their outputs; cell ids are fixed and no timing metadata or
interpreter version is recorded, so rebuilding an unchanged chapter gives the same file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

LESSONS = Path(__file__).resolve().parents[1]


def parse(source: str, chapter: int, setup: str = "") -> list:
    """The cells of a chapter's source, with ids ``chNN-MMM``."""
    cells, kind, lines = [], None, []

    def flush():
        text = "\n".join(lines).strip("\n")
        if kind and text.strip():
            make = nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell
            cell = make(text)
            cell.id = f"ch{chapter:02d}-{len(cells):03d}"
            cells.append(cell)

    for line in source.replace("%% setup", "%% code\n" + setup).splitlines():
        if line.strip() in ("%% md", "%% code"):
            flush()
            kind, lines = line.strip()[3:], []
        else:
            lines.append(line)
    flush()
    return cells


THIRD_PARTY = ("matplotlib", "numpy", "IPython")  # everything else but tinygrad_ft is the standard library


def setup_cell(*imports: str, body: str = "") -> str:
    """A chapter's first code cell: ``%matplotlib inline``, then ``imports`` (one statement each;
    numpy, matplotlib and tinygrad_ft are always there) in isort's groups (standard library,
    third party, ``tinygrad_ft``; plain imports before ``from`` imports, each sorted by module),
    then ``body``."""
    lines = {"import matplotlib.pyplot as plt", "import numpy as np", "import tinygrad_ft as tg", *imports}

    def module(line):
        return line.split()[1]

    def group(line):
        top = module(line).split(".")[0]
        return 2 if top == "tinygrad_ft" else 1 if top in THIRD_PARTY else 0

    def key(line):
        return line.startswith("from "), module(line).lower(), line

    groups = ["\n".join(sorted((x for x in lines if group(x) == g), key=key)) for g in range(3)]
    return "\n%matplotlib inline\n" + "\n\n".join(g for g in groups if g) + "\n\n" + body.strip("\n") + "\n"


def build(source: str, chapter: int, setup: str = "") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = parse(source, chapter, setup)
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    return nb


def run(nb: nbformat.NotebookNode, timeout: int) -> float:
    """Execute ``nb`` in place from a fresh kernel; the seconds it took."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(LESSONS)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    merge_streams(nb)
    return seconds


def merge_streams(nb: nbformat.NotebookNode) -> None:
    """One output per stream and cell: how the kernel cut printed text into messages is a
    matter of timing, and must not make a rebuilt file differ."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged = []
        for out in cell.outputs:
            if out.output_type == "stream" and merged and merged[-1].output_type == "stream" and merged[-1].name == out.name:
                merged[-1].text += out.text
            else:
                merged.append(out)
        cell.outputs = [o for o in merged if not (o.output_type == "stream" and not o.text)]


def main(argv: list, chapters: dict, setup: str = "", timeout: int = 300) -> None:
    """Build (and, unless ``--no-run``, execute) the chapters named in ``argv`` (all by default);
    ``chapters`` maps a number to (file name, source)."""
    execute = "--no-run" not in argv
    chosen = [int(a) for a in argv if a.isdigit()] or sorted(chapters)
    for chapter in chosen:
        name, source = chapters[chapter]
        nb = build(source, chapter, setup)
        try:
            seconds = run(nb, timeout) if execute else 0.0
        except Exception:
            nbformat.write(nb, Path("/tmp") / name)  # the partly run notebook, to look at
            print(f"{name}: FAILED; the partly run notebook is in /tmp/{name}")
            raise
        path = LESSONS / name
        nbformat.write(nb, path)
        ran = f", ran in {seconds:.1f} s" if execute else ""
        print(f"{name}: {len(nb.cells)} cells, {path.stat().st_size / 1024:.0f} KB{ran}")
