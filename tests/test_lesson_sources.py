"""Each lesson notebook is built from one source, ``lessons/NN_name.md`` (MyST Markdown, jupytext),
by ``lessons/build.py``. These tests check that every committed notebook still matches its
source, cell by cell, so that a notebook edited in Jupyter and not synced, or a source edited
and not rebuilt, fails here with the chapter and the command that fixes it."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import nbformat
import pytest

LESSONS = Path(__file__).resolve().parents[1] / "lessons"


def load_build():
    spec = importlib.util.spec_from_file_location("lesson_build", LESSONS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = load_build()
SOURCES = build.sources()


def test_sixteen_chapters_each_with_one_source_and_one_notebook():
    notebooks = sorted(p.name for p in LESSONS.glob("[0-9][0-9]_*.ipynb"))
    assert sorted(SOURCES) == list(range(16))
    assert notebooks == [build.notebook_path(SOURCES[c]).name for c in sorted(SOURCES)]


def test_the_old_builders_are_gone():
    assert not (LESSONS / "_build").exists()


@pytest.mark.parametrize("chapter", sorted(SOURCES))
def test_notebook_matches_its_source(chapter):
    source = SOURCES[chapter]
    found = build.differences(source)
    notebook = build.notebook_path(source).name
    message = (
        f"chapter {chapter}: lessons/{notebook} does not match its source lessons/{source.name}:\n  "
        + "\n  ".join(found)
        + f"\nIf the source is right (you edited {source.name}), rebuild the notebook:\n"
        f"    {build.rebuild_command(chapter)}\n"
        f"If the notebook is right (you edited it in Jupyter), take its cells into the source, and rebuild:\n"
        f"    .venv/bin/python lessons/build.py --from-notebook {chapter}"
    )
    assert not found, message


@pytest.mark.parametrize("chapter", sorted(SOURCES))
def test_source_is_a_myst_notebook_without_control_characters(chapter):
    # e.g. "\to" once became a TAB and "o" in chapter 7's formula (a Python string's escape)
    text = SOURCES[chapter].read_text(encoding="utf-8")
    assert text.startswith("---\njupytext:\n")
    assert "format_name: myst" in text
    bad = [(n, line) for n, line in enumerate(text.splitlines(), 1) if any(ord(ch) < 32 for ch in line)]
    assert not bad, f"{SOURCES[chapter].name}: control characters on lines {bad[:3]}"


def test_chapter_7_formula_keeps_its_arrow():
    assert r"\dots) \to g/(1-\mu)" in SOURCES[7].read_text(encoding="utf-8")


def test_ids_come_from_the_position():
    nb = build.from_source(SOURCES[3])
    assert [c.id for c in nb.cells] == [f"ch03-{i:03d}" for i in range(len(nb.cells))]
    assert nb.metadata == build.METADATA


@pytest.fixture
def chapter_copy(tmp_path):
    """Chapter 0's source and notebook, copied where they may be edited."""
    source = tmp_path / SOURCES[0].name
    shutil.copyfile(SOURCES[0], source)
    shutil.copyfile(build.notebook_path(SOURCES[0]), build.notebook_path(source))
    return source


def test_check_catches_a_notebook_edited_and_not_synced(chapter_copy):
    path = build.notebook_path(chapter_copy)
    nb = nbformat.read(path, as_version=4)
    nb.cells[2].source += "\nEdited in Jupyter."
    nbformat.write(nb, path)
    found = build.differences(chapter_copy)
    assert len(found) == 1
    assert found[0].startswith("cell 2 (ch00-002): the text differs from line")


def test_check_catches_a_source_edited_and_not_rebuilt(chapter_copy):
    text = chapter_copy.read_text(encoding="utf-8")
    chapter_copy.write_text(text + "\n+++\n\nA new closing paragraph.\n", encoding="utf-8")
    found = build.differences(chapter_copy)
    assert any("cells" in line for line in found)


def test_check_catches_a_notebook_saved_by_jupyter(chapter_copy):
    path = build.notebook_path(chapter_copy)
    nb = nbformat.read(path, as_version=4)
    nb.metadata["language_info"]["version"] = "3.11.7"
    nb.cells[1].execution_count = 7
    nbformat.write(nb, path)
    found = build.differences(chapter_copy)
    assert len(found) == 2
    assert "run once, top to bottom" in found[0]


def test_from_notebook_takes_an_edit_made_in_jupyter_into_the_source(chapter_copy, monkeypatch):
    path = build.notebook_path(chapter_copy)
    nb = nbformat.read(path, as_version=4)
    nb.cells[2].source += "\nEdited in Jupyter."
    nbformat.write(nb, path)
    monkeypatch.setattr(build, "sources", lambda: {0: chapter_copy})
    build.to_source(0)
    assert "Edited in Jupyter." in chapter_copy.read_text(encoding="utf-8")
    assert build.differences(chapter_copy) == []
    assert chapter_copy.read_text(encoding="utf-8").splitlines()[:3] == SOURCES[0].read_text(encoding="utf-8").splitlines()[:3]
