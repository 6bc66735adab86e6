"""Sphinx configuration of dgnsim's documentation (``make docs``)."""

from __future__ import annotations

import ast
import os
import re
import socket
import sys
import warnings
from pathlib import Path
from urllib.parse import urlparse

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))

import dgnsim

os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", message=".*parseAll.*")

project = "dgnsim"
author = "the dgnsim authors"
copyright = "the dgnsim authors, MIT licence"
release = dgnsim.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    "sphinx_copybutton",
    "sphinx_gallery.gen_gallery",
    "sphinxarg.ext",
    "myst_parser",
    "dgnsim_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = [
    "_build",
    "**/*.inc",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/**/*.py",
    "auto_examples/*.zip",
    "auto_examples/**/*.ipynb",
    "auto_examples/*.md5",
    "auto_examples/**/*.md5",
    "_inv",
]
templates_path = ["_templates"]
default_role = "code"
# Smart quotes and ellipses, but no dashes: "--noise" in the CLI reference (argparse help) stays an option.
smartquotes_action = "qe"
nitpicky = False
myst_heading_anchors = 3

# -- HTML ---------------------------------------------------------------------
html_theme = "furo"
html_title = f"dgnsim {release}"
html_static_path = ["_static"]
html_css_files = ["dgnsim.css"]
html_theme_options = {"navigation_with_keys": True}
# MathJax from its CDN; DGNSIM_DOCS_MATHJAX=/path/to/tex-mml-chtml.js (MathJax 3, e.g. from the
# npm package `mathjax@3`) reads the pages offline.
if os.environ.get("DGNSIM_DOCS_MATHJAX"):
    mathjax_path = Path(os.environ["DGNSIM_DOCS_MATHJAX"]).resolve().as_uri()

# -- autodoc, autosummary, numpydoc ---------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autosummary_ignore_module_all = False
autodoc_default_options: dict = {}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False


def _undocumented() -> set[str] | None:
    """The names ``UNDOCUMENTED`` in tests/test_docstrings.py lists (read, not imported: no pytest needed)."""
    test = ROOT / "tests" / "test_docstrings.py"
    if not test.is_file():
        return None
    for node in ast.parse(test.read_text()).body:
        if isinstance(node, ast.AnnAssign | ast.Assign) and "UNDOCUMENTED" in ast.unparse(node).split("=")[0]:
            call = node.value
            if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "frozenset":
                return set(ast.literal_eval(call.args[0])) if call.args else set()
    raise RuntimeError(f"{test}: no UNDOCUMENTED = frozenset(...) found")


def _validation_exclude(undocumented: set[str]) -> set[str]:
    """Patterns of the names the build must not validate yet: each listed name, and the name under
    which a package re-exports it (``dgnsim.make_group`` for ``dgnsim.brian.network.make_group``;
    the API pages document ``dgnsim``'s names there), methods included."""
    import importlib
    import inspect

    from dgnsim_docs import _api_modules, _public_names

    names = set(undocumented)
    for module_name in ["dgnsim", *_api_modules()]:
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # an optional extra that is not installed (its page is left out)
            continue
        for public in _public_names(module):
            obj = getattr(module, public, None)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            canonical = f"{obj.__module__}.{obj.__qualname__}"
            for name in undocumented:
                if name == canonical or name.startswith(canonical + "."):
                    names.add(f"{module_name}.{public}{name[len(canonical) :]}")
    return {rf"^{re.escape(name)}$" for name in sorted(names)}


# The rule of tests/test_docstrings.py, during the build: the Parameters section of every documented
# callable names exactly its signature's parameters (PR01: a parameter not documented, PR02: one
# documented that the signature lacks); the names still on UNDOCUMENTED are left out. With -W a finding
# fails the build. numpydoc checks a docstring's Parameters only where there is a docstring, and its
# check for a missing docstring (GL08) also fires on attributes documented by a ``#:`` comment, so a
# callable with no docstring at all is left to the test.
_UNDOCUMENTED = _undocumented()
if _UNDOCUMENTED is None:
    print("numpydoc: tests/test_docstrings.py not found; docstrings are not validated")
    numpydoc_validation_checks: set[str] = set()
else:
    numpydoc_validation_checks = {"PR01", "PR02"}
    numpydoc_validation_exclude = _validation_exclude(_UNDOCUMENTED)

# -- doctest ------------------------------------------------------------------
doctest_global_setup = """
import numpy as np
from brian2 import ms, mV, Hz, second
import dgnsim
"""

# -- copy buttons: leave out prompts and output ------------------------------------
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True

# -- the example gallery (sphinx-gallery) ------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py|/_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "matplotlib_animations": False,
    "show_memory": False,
    "reset_modules": ("matplotlib",),
    "image_scrapers": ("matplotlib",),
    "capture_repr": ("_repr_html_", "__repr__"),
    "min_reported_time": 5,
    "plot_gallery": os.environ.get("DGNSIM_DOCS_GALLERY", "True"),
}

# -- intersphinx: online where reachable; never a warning offline ------------------------
_INVENTORIES = {
    "python": "https://docs.python.org/3/",
    "brian2": "https://brian2.readthedocs.io/en/stable/",
    "numpy": "https://numpy.org/doc/stable/",
    "torch": "https://docs.pytorch.org/docs/stable/",
    "xarray": "https://docs.xarray.dev/en/stable/",
}


def _reachable(url: str) -> bool:
    """Whether the inventory's host resolves (a machine without network skips it at once)."""
    if os.environ.get("DGNSIM_DOCS_OFFLINE"):
        return False
    try:
        socket.setdefaulttimeout(3)
        socket.getaddrinfo(urlparse(url).hostname, 443)
        return True
    except OSError:
        return False
    finally:
        socket.setdefaulttimeout(None)


intersphinx_mapping = {}
for _name, _url in _INVENTORIES.items():
    _local = DOCS / "_inv" / f"{_name}.inv"  # a committed copy is used first, offline too
    if _local.is_file():
        intersphinx_mapping[_name] = (_url, (str(_local), None))
    elif _reachable(_url):
        intersphinx_mapping[_name] = (_url, None)
    else:
        print(f"intersphinx: {_name} ({_url}) not reachable; its links are left out of this build")
intersphinx_timeout = 10
