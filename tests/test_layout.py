"""The package's layout: each folder is a layer, and a layer imports only the layers below it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import tinygrad_ft
from tinygrad_ft import layout

PACKAGE = Path(tinygrad_ft.__file__).resolve().parent
README = PACKAGE.parent / "README.md"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


def layer_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imported_modules(path: Path):
    """Every module of the package that ``path`` imports (at the top or inside a function),
    as a dotted name relative to the package, with the line of the import."""
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    if path.name == "__init__.py":
        package = path.relative_to(PACKAGE.parent).parent.parts
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "tinygrad_ft":
                    yield alias.name.split(".")[1:], node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                module = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "tinygrad_ft":
                module = node.module.split(".")
            else:
                continue
            inside = module[1:]
            if inside:
                yield inside, node.lineno
            else:  # from tinygrad_ft import backend, nn: each name is a layer
                for alias in node.names:
                    yield [alias.name], node.lineno


def test_every_folder_and_module_of_the_package_is_a_listed_layer():
    assert sorted({layer_of(p) for p in MODULES}) == sorted(layout.NAMES)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_its_own_layer_and_the_layers_below(path):
    source = layer_of(path)
    upward = [f"line {line}: {'.'.join(target)} ({target[0]} is above {source})"
              for target, line in imported_modules(path) if layout.rank(target[0]) > layout.rank(source)]
    assert upward == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_name_is_imported_from_another_module(path):
    private = [f"line {node.lineno}: {alias.name}" for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, ast.ImportFrom) and node.module != "__future__"
               for alias in node.names if alias.name.startswith("_")]
    assert private == []


def test_the_library_ships_no_test_only_module():
    assert not (PACKAGE / "testing").exists()


def test_the_readme_layout_table_is_the_list_of_layers():
    assert layout.table() in README.read_text()


def test_lesson_0_draws_its_map_of_the_library_from_the_list_of_layers():
    notebook = PACKAGE.parent / "lessons" / "00_tour.ipynb"
    assert re.search(r"from tinygrad_ft(\.layout import| import layout)", notebook.read_text())


def test_the_lower_layers_are_at_the_bottom_of_the_list():
    assert layout.rank("backend") < layout.rank("autograd") < layout.rank("functional") < layout.rank("nn")
