"""The package's docstrings, as reStructuredText that says what they say.

They are written for ``help()``: prose with ``literals`` and ``-`` lists, and indented blocks for
code and derivations (``dL/dxⱼ = pⱼ (gⱼ - Σᵢ gᵢ pᵢ)``, ``|a - n|``, ``x * y``). Read as reST,
the bars would be substitutions, the stars emphasis and the indented lines block quotes with
their line breaks lost. So, before autodoc parses one (``autodoc-process-docstring``):

- every indented block outside a list becomes a literal block, shown as written;
- in prose, only ````literals```` and ``-`` lists keep a meaning: ``\\ | * ` _`` are escaped, and
  a literal that touches a letter (``row_weights``[i]) is kept apart from it;
- a list gets the blank lines around it that reST wants.
"""

from __future__ import annotations

import re

LITERAL = re.compile(r"(``.+?``)", re.S)
SPECIAL = re.compile(r"([\\|*`])")
TRAILING_UNDERSCORE = re.compile(r"(\w)_(?=\W|$)")
ITEM = re.compile(r"^([-*]|\d+[.)])( |$)")
BEFORE_OK = " \n-:/'\"<([{"
AFTER_OK = " \n-.,:;!?\\/'\")]}>"


def indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def escape(lines: list) -> list:
    """Prose lines (a paragraph, or a list with its items' continuations) with everything but
    ``literals`` and the items' markers taken literally."""
    text = "\n".join(lines)
    parts = LITERAL.split(text)
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # a ``literal``: kept apart from the letters around it
            if out and out[-1] and out[-1][-1] not in BEFORE_OK:
                out.append("\\ ")
            out.append(part)
            following = parts[i + 1] if i + 1 < len(parts) else ""
            if following and following[0] not in AFTER_OK:
                out.append("\\ ")
        else:
            out.append(TRAILING_UNDERSCORE.sub(r"\1\\_", SPECIAL.sub(r"\\\1", part)))
    escaped = []
    for line in "".join(out).split("\n"):
        lead = line[: indent(line)]
        body = line[len(lead):]
        if body.startswith("\\* "):  # an item's marker
            body = body[1:]
        elif body.startswith("..") or (body and set(body) <= set("=-~^+#\"':._")):
            body = "\\" + body  # not a directive, a comment or a section's underline
        escaped.append(lead + body)
    return escaped


def as_rest(lines: list) -> list:
    """Plain docstring lines (dedented, as autodoc gives them) as reST lines."""
    chunks = []  # (kind, lines): "prose", "list" or "block"
    for line in lines:
        kind = chunks[-1][0] if chunks else None
        if not line.strip():
            if kind == "block":
                chunks[-1][1].append(line)  # a block may hold blank lines
            elif kind is not None and chunks[-1][1]:
                chunks.append((None, []))
            continue
        if kind == "block" and indent(line) > 0:
            chunks[-1][1].append(line)
        elif ITEM.match(line):
            if kind == "list":
                chunks[-1][1].append(line)
            else:
                chunks.append(("list", [line]))
        elif kind == "list" and indent(line) > 0:
            chunks[-1][1].append(line)  # an item's continuation
        elif indent(line) > 0:
            chunks.append(("block", [line]))
        elif kind == "prose":
            chunks[-1][1].append(line)
        else:
            chunks.append(("prose", [line]))
    out = []
    for kind, chunk in chunks:
        if kind is None:
            continue
        if kind == "block":
            while chunk and not chunk[-1].strip():
                chunk.pop()
            if out and out[-1].endswith("::"):
                pass
            elif out and out[-1].endswith(":"):
                out[-1] += ":"  # "that::" shows as "that:" before the block
            else:
                out += ["::"] if not out else ["", "::"]
            out += [""] + chunk
        else:
            out += ([""] if out else []) + escape(chunk)
    return out


def process(app, what, name, obj, options, lines):
    lines[:] = as_rest(list(lines))


def setup(app):
    app.connect("autodoc-process-docstring", process)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
