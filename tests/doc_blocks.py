"""Run the ```python blocks of a documentation page, in order, in one namespace (like a notebook).

A block that only includes a file (``--8<-- "path"``, pymdownx.snippets) shows that file on the
site; the file is tested where it lives, so such a block is not run here. Tracebacks point at the
page's own line numbers.

    python tests/doc_blocks.py docs/guides/plugins.md      # run one page from the command line
"""

from __future__ import annotations

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

_BLOCK = re.compile(r"^```python\n(.*?)^```[ \t]*$", re.S | re.M)
_INCLUDE = re.compile(r'^\s*--8<--\s+"[^"]+"\s*$')


def python_blocks(page: pathlib.Path) -> list[tuple[int, str]]:
    """(first line number, code) of every python block of ``page`` that is code, not a listing."""
    text = page.read_text(encoding="utf-8")
    blocks = []
    for match in _BLOCK.finditer(text):
        code = match.group(1)
        lines = [line for line in code.splitlines() if line.strip()]
        if lines and all(_INCLUDE.match(line) for line in lines):
            continue
        blocks.append((text.count("\n", 0, match.start(1)) + 1, code))
    return blocks


def run_page(page: pathlib.Path) -> dict:
    """Execute the page's python blocks; return the namespace they shared."""
    namespace: dict = {"__name__": "__docs__"}
    for line, code in python_blocks(page):
        # Leading newlines make the line numbers of a traceback those of the page.
        exec(compile("\n" * (line - 1) + code, str(page), "exec"), namespace)
    return namespace


if __name__ == "__main__":
    for name in sys.argv[1:]:
        run_page(pathlib.Path(name))
