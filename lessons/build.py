"""The lesson notebooks, built from their sources; and the check that the two agree.

Each chapter has one source, ``lessons/NN_name.md``: a notebook written as MyST Markdown, the text
format of jupytext (``jupytext.toml`` pairs it with ``NN_name.ipynb``). Its notebook is made from it,
executed from ``lessons/`` at full size (``TINYGRAD_FT_FAST=0``, MPLBACKEND=Agg) and written with its
outputs. Cell ids are ``chNN-MMM`` (chapter, position), no timing and no interpreter version is
recorded, and printed text is one output per stream and cell: rebuilding an unchanged chapter
changes no byte.

    .venv/bin/python lessons/build.py                    # every chapter: build, execute, write
    .venv/bin/python lessons/build.py 3 7                # chapters 3 and 7 only
    .venv/bin/python lessons/build.py --check            # do the notebooks match their sources?
    .venv/bin/python lessons/build.py --from-notebook 7  # keep an edit made in Jupyter: the notebook's
                                                         # cells into 07_*.md, then build chapter 7

``tests/test_lesson_sources.py`` runs the check in CI.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat

LESSONS = Path(__file__).resolve().parent
FORMAT = "md:myst"
METADATA = {
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python"},
}
TIMEOUT = 600  # seconds for one cell


def sources() -> dict:
    """Chapter number -> its source file, ``lessons/NN_name.md``."""
    return {int(path.name[:2]): path for path in sorted(LESSONS.glob("[0-9][0-9]_*.md"))}


def notebook_path(source: Path) -> Path:
    return source.with_suffix(".ipynb")


def rebuild_command(chapter: int) -> str:
    return f".venv/bin/python lessons/build.py {chapter}"


def cell_id(chapter: int, position: int) -> str:
    return f"ch{chapter:02d}-{position:03d}"


def from_source(source: Path) -> nbformat.NotebookNode:
    """The notebook of a chapter's source, not yet executed: its cells (with any metadata the source
    gives them, e.g. tags), fixed ids, and the fixed notebook metadata."""
    chapter = int(source.name[:2])
    text = jupytext.reads(source.read_text(encoding="utf-8"), fmt=FORMAT)
    nb = nbformat.v4.new_notebook(metadata=dict(METADATA))
    for position, cell in enumerate(text.cells):
        make = nbformat.v4.new_markdown_cell if cell.cell_type == "markdown" else nbformat.v4.new_code_cell
        new = make(cell.source, metadata=dict(cell.metadata))
        new.id = cell_id(chapter, position)
        nb.cells.append(new)
    return nb


def run(nb: nbformat.NotebookNode, timeout: int = TIMEOUT) -> float:
    """Execute ``nb`` in place from a fresh kernel, as a reader would (full size, from ``lessons/``);
    the seconds it took. Then drop what the run adds that is not the lesson's: timing, the
    interpreter's version, printed text cut into messages by timing."""
    from nbclient import NotebookClient

    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ["TINYGRAD_FT_FAST"] = "0"  # the notebooks are the book: full-size budgets
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(LESSONS)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nb.metadata = dict(METADATA)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
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


def differences(source: Path) -> list:
    """Where a chapter's notebook and its source disagree, one line each (empty when they agree):
    the cells (kind, text, id, in order), that every code cell ran once, top to bottom, and the
    notebook's metadata."""
    path = notebook_path(source)
    if not path.exists():
        return [f"{path.name} is missing"]
    want = from_source(source)
    have = nbformat.read(path, as_version=4)
    found = []
    if len(have.cells) != len(want.cells):
        found.append(f"{path.name} has {len(have.cells)} cells, {source.name} has {len(want.cells)}")
    for position, (a, b) in enumerate(zip(have.cells, want.cells)):
        where = f"cell {position} ({b.id})"
        if a.cell_type != b.cell_type:
            found.append(f"{where}: a {a.cell_type} cell in the notebook, a {b.cell_type} cell in the source")
        elif a.source != b.source:
            line = next((i for i, (x, y) in enumerate(zip(a.source.splitlines(), b.source.splitlines())) if x != y),
                        min(len(a.source.splitlines()), len(b.source.splitlines())))
            found.append(f"{where}: the text differs from line {line + 1} of the cell")
        if a.get("id") != b.id:
            found.append(f"{where}: id {a.get('id')!r}, not {b.id!r}")
    counts = [cell.execution_count for cell in have.cells if cell.cell_type == "code"]
    if counts != list(range(1, len(counts) + 1)):
        found.append("the code cells did not all run once, top to bottom, from a fresh kernel (execution counts "
                     f"{counts[:8]}{' ...' if len(counts) > 8 else ''})")
    if have.metadata != METADATA:
        found.append("the notebook's metadata is not the build's (a notebook saved by Jupyter records the interpreter)")
    return found


def to_source(chapter: int) -> Path:
    """Write a chapter's notebook's cells (as edited in Jupyter) into its source."""
    source = sources()[chapter]
    nb = nbformat.read(notebook_path(source), as_version=4)
    header = jupytext.reads(source.read_text(encoding="utf-8"), fmt=FORMAT)
    text = nbformat.v4.new_notebook(metadata=header.metadata)
    for cell in nb.cells:
        metadata = {k: v for k, v in cell.metadata.items() if k not in ("execution", "collapsed", "scrolled")}
        make = nbformat.v4.new_markdown_cell if cell.cell_type == "markdown" else nbformat.v4.new_code_cell
        text.cells.append(make(cell.source, metadata=metadata))
    jupytext.write(text, source, fmt=FORMAT)
    return source


def build(chapter: int) -> None:
    source = sources()[chapter]
    nb = from_source(source)
    path = notebook_path(source)
    try:
        seconds = run(nb)
    except Exception:
        failed = Path("/tmp") / path.name
        nbformat.write(nb, failed)  # the partly run notebook, to look at
        print(f"{path.name}: FAILED; the partly run notebook is in {failed}")
        raise
    nbformat.write(nb, path)
    print(f"{path.name}: {len(nb.cells)} cells, {path.stat().st_size / 1024:.0f} KB, ran in {seconds:.1f} s", flush=True)


def main(argv: list) -> int:
    chapters = sources()
    chosen = [int(a) for a in argv if a.isdigit()] or sorted(chapters)
    unknown = [c for c in chosen if c not in chapters]
    if unknown:
        print(f"no chapter {unknown}; the chapters are {sorted(chapters)}")
        return 2
    if "--check" in argv:
        bad = 0
        for chapter in chosen:
            found = differences(chapters[chapter])
            bad += bool(found)
            for line in found:
                print(f"chapter {chapter} ({notebook_path(chapters[chapter]).name}): {line}")
        print(f"{len(chosen) - bad} of {len(chosen)} notebooks match their sources")
        return 1 if bad else 0
    if "--from-notebook" in argv:
        if not any(a.isdigit() for a in argv):
            print("--from-notebook takes the chapters to update, e.g. --from-notebook 7")
            return 2
        for chapter in chosen:
            print(f"{to_source(chapter).name}: cells taken from its notebook")
    start = time.perf_counter()
    for chapter in chosen:
        build(chapter)
    print(f"{len(chosen)} notebooks built in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
