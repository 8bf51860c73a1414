"""Griffe extension: fracneuron's public names as Python sees them, docstrings as Markdown.

**Names.** ``fracneuron/__init__.py`` does ``from .mittag_leffler import mittag_leffler``: at run
time ``fracneuron.mittag_leffler`` is the function (the import rebinds the name after the submodule
was loaded), but a static reader keeps the submodule under that name, so ``::: fracneuron.fdeint``
would document a module. ``public_names`` rebinds every such name to the imported object (after
pinning the aliases that were imported through the module), so the API pages name public objects
only and do not depend on which file defines them.

**Docstrings.** They are written for ``help()`` and Sphinx: roles (``:mod:`fracneuron.memory```),
simple tables ruled with ``=====``, doctest lines (``>>> …``) and literal blocks introduced by
``::``. mkdocstrings renders Markdown, where those read badly (a role's colons stay, a table
becomes one paragraph, ``>>>`` starts a block quote). This extension rewrites them once, when a
package is loaded, before any docstring is parsed: roles become code spans, tables and doctest
runs become fenced blocks, ``::`` becomes ``:``. Text already inside a fence is left alone. The
library's docstrings stay as they are.
"""

from __future__ import annotations

import re

import griffe

ROLE = re.compile(r":(?:py:)?(?:mod|class|func|meth|data|attr|obj|exc|const|term|ref):`~?([^`]+)`")
RULER = re.compile(r"^\s*=+(?:\s+=+)+\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
DOCTEST = re.compile(r"^\s*>>>( |$)")


def _role(match: re.Match) -> str:
    text = match.group(0)
    target = match.group(1)
    if "`~" in text:  # Sphinx's ~ shows the last component only
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _fenced(lines: list[str], language: str) -> list[str]:
    """``lines`` inside a fence at their common indentation."""
    indent = min((_indent(line) for line in lines if line.strip()), key=len, default="")
    body = [line[len(indent) :] if line.startswith(indent) else line.strip() for line in lines]
    return [f"{indent}```{language}", *(indent + line if line else "" for line in body), f"{indent}```"]


def _table_end(lines: list[str], start: int) -> int | None:
    """Index after a simple table that starts with the ruler at ``start``: the block of
    non-blank lines must end with a ruler; None if it does not (then it is not a table)."""
    end = start
    while end < len(lines) and lines[end].strip():
        end += 1
    return end if end - start >= 3 and RULER.match(lines[end - 1]) else None


def markdown_docstring(text: str) -> str:
    """The docstring ``text`` with its reStructuredText constructs rewritten as Markdown."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    in_fence = False
    while i < len(lines):
        line = lines[i]
        if FENCE.match(line):
            in_fence = not in_fence
            out.append(line)
            i += 1
            continue
        if in_fence:
            out.append(line)
            i += 1
            continue
        if RULER.match(line) and (end := _table_end(lines, i)) is not None:
            table = [ROLE.sub(lambda m: f"``{_role(m)[1:-1]}``", row) for row in lines[i:end]]
            out.extend(_fenced(table, "text"))
            i = end
            continue
        if DOCTEST.match(line):
            end = i
            while end < len(lines) and lines[end].strip():
                end += 1
            if out and out[-1].strip():
                out.append("")  # a fence needs its own paragraph
            out.extend(_fenced(lines[i:end], "pycon"))
            i = end
            continue
        line = ROLE.sub(_role, line)
        if line.rstrip().endswith("::") and not line.strip().startswith("::"):
            line = line.rstrip()[:-1]  # "text::" introduces a literal block: "text:"
        elif line.strip() == "::":
            line = ""
        out.append(line)
        i += 1
    return "\n".join(out)


def _walk(obj: griffe.Object):
    """``obj`` and every object defined under it (aliases are not followed)."""
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)


def _aliases(pkg: griffe.Module):
    for obj in _walk(pkg):
        for member in obj.members.values():
            if member.is_alias:
                yield member


def public_names(pkg: griffe.Module) -> None:
    """Rebind each name that a ``from .name import name`` import shadows to the imported object."""
    collection = pkg.modules_collection
    for module in [obj for obj in _walk(pkg) if obj.is_module]:
        for name, member in list(module.members.items()):
            imported = module.imports.get(name)
            if member.is_alias or not member.is_module or not imported or not imported.startswith(member.path + "."):
                continue
            runtime = collection.get_member(imported)
            # Pin the aliases that pass through the shadowed module before it leaves the name.
            for alias in _aliases(pkg):
                if alias.target_path == member.path:
                    alias.target = runtime
                elif alias.target_path.startswith(member.path + ".") and not alias.resolved:
                    alias.target = collection.get_member(alias.target_path)
            module.members[name] = griffe.Alias(name, runtime, parent=module)


def _rewrite(obj: griffe.Object) -> None:
    if obj.docstring is not None:
        obj.docstring.value = markdown_docstring(obj.docstring.value)
    for member in obj.members.values():
        if not member.is_alias:
            _rewrite(member)


class FracneuronDocs(griffe.Extension):
    """Rebind shadowed public names and rewrite every docstring once a package is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        public_names(pkg)
        _rewrite(pkg)
