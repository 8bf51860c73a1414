"""MkDocs hook: serve MathJax from the site itself, so equations render with no network.

pymdownx.arithmatex (generic mode) leaves each formula as ``\\( … \\)`` / ``\\[ … \\]`` in a
``span``/``div`` of class ``arithmatex``; MathJax typesets them in the browser. The script comes
from the ``django-static-mathjax`` wheel (MathJax 3.2.2 as plain files, no dependencies; part of
the ``docs`` extra) and is added to the build as a generated file: no CDN, no npm. The
single-file ``tex-svg-full`` component holds the TeX input with every extension and SVG output
(glyphs as paths), so nothing else is fetched at run time.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

DISTRIBUTION = "django-static-mathjax"
SOURCE = "mathjax/static/mathjax/es5/tex-svg-full.js"
TARGET = "javascripts/mathjax/tex-svg-full.js"  # the path mkdocs.yml's extra_javascript names


def mathjax_script() -> Path:
    """The MathJax component installed with the ``docs`` extra."""
    try:
        path = Path(metadata.distribution(DISTRIBUTION).locate_file(SOURCE))
    except metadata.PackageNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise PluginError(
            f"MathJax not found ({DISTRIBUTION} is not installed): pip install -e '.[docs]' to build the site"
        )
    return path


def on_files(files, config):
    files.append(File.generated(config, TARGET, abs_src_path=str(mathjax_script())))
    return files
