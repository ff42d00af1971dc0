"""Sphinx configuration of the skconvexnn documentation.

Build with ``sphinx-build -W -b html doc doc/_build/html`` after
``pip install ".[doc]"``. Links to the NumPy, SciPy, scikit-learn and cvxpy
documentation (intersphinx) need the network; they are on only when the
environment variable ``SKCONVEXNN_INTERSPHINX`` is set to ``1``, so that the
build stays warning-free offline.
"""

import os
import sys
from datetime import date

sys.path.insert(0, os.path.abspath(".."))

import skconvexnn  # noqa: E402

project = "skconvexnn"
author = "The skconvexnn developers"
copyright = f"{date.today().year}, {author}"
version = release = skconvexnn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    # MathJax shipped with the docs, so formulas render without the network
    "sphinx-mathjax-offline",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.md5",
                    "auto_examples/*.json"]
root_doc = "index"
default_role = "literal"

# -- API reference -----------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Cross-reference types such as ``ndarray`` only where intersphinx can
# resolve them; offline they are plain text.
numpydoc_xref_param_type = False

# -- Links to other projects (needs the network) -----------------------------
if os.environ.get("SKCONVEXNN_INTERSPHINX", "0") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "cvxpy": ("https://www.cvxpy.org", None),
        "matplotlib": ("https://matplotlib.org/stable", None),
    }
else:
    intersphinx_mapping = {}


def _offline_sklearn_labels(app, env, node, contnode):
    """Offline, render scikit-learn's own ``:ref:`` labels as plain text.

    Methods inherited from scikit-learn (``score``, ``get_metadata_routing``)
    carry references to labels of the scikit-learn user guide, such as
    ``r2_score``; without intersphinx they cannot resolve. Only those, in the
    generated API pages, are let through; every other unresolved reference
    still fails the build.
    """
    if intersphinx_mapping or not env.docname.startswith("generated/"):
        return None
    if node.get("refdomain") == "std" and node.get("reftype") == "ref":
        return contnode
    return None


def _wide_gallery_pages(app, pagename, templatename, context, doctree):
    """No right-hand sidebar on the gallery's pages.

    So that their figures are shown wide enough to read, and to project
    (the lecture page asks for the same with its own metadata field). The
    theme leaves the sidebar out of a page whose metadata has
    ``html_theme.sidebar_secondary.remove``.
    """
    if pagename.startswith("auto_examples/"):
        context["meta"] = {**(context.get("meta") or {}),
                           "html_theme.sidebar_secondary.remove": True}


def setup(app):
    app.connect("missing-reference", _offline_sklearn_labels)
    app.connect("html-page-context", _wide_gallery_pages)

# -- Gallery -----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skconvexnn",),
    "reference_url": {"skconvexnn": None},
    "backreferences_dir": "generated/backreferences",
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
    # A second set of images at twice the resolution, for high-density
    # screens and for zooming in on a projected page.
    "image_srcset": ["2x"],
}

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skconvexnn {release}"
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "show_prev_next": False,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []
