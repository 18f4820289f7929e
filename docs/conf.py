"""Sphinx configuration of the acn_sklearn documentation.

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
The example gallery is rendered without running the examples (they train models).
"""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives, roles

import acn_sklearn

HERE = Path(__file__).resolve().parent

# -- Project -------------------------------------------------------------------------

project = "acn_sklearn"
author = "acn_sklearn developers"
copyright = "2026, acn_sklearn developers"
release = acn_sklearn.__version__
version = release

# -- General -------------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
# paper/ holds the output of `acn-sklearn learning-curve --paper`; its files are
# pulled into reproducing.rst by the if-exists directive below, not built alone.
exclude_patterns = ["_build", "paper", "auto_examples/*.ipynb", "auto_examples/*.py"]

# No intersphinx: the documentation must build offline. References to numpy,
# sklearn, ase or torch objects in docstrings stay plain text.

# -- autodoc / autosummary / numpydoc ------------------------------------------------

autosummary_generate = True
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc docstrings already give the types
# Estimators' methods are listed by autodoc's :members:; numpydoc's own member
# tables would point at pages autosummary does not generate.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# -- sphinx-gallery ------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # The examples fit models for minutes; the gallery shows their code and text
    # only. Run them by hand (python examples/plot_*.py).
    "plot_gallery": "False",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    # No sg_execution_times pages: nothing is executed, and they would land in docs/.
    "write_computation_times": False,
}

# -- HTML ----------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"acn_sklearn {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_show_sourcelink = False

# -- MyST (the Markdown benchmark pages) ---------------------------------------------

myst_heading_anchors = 3


# -- Local directives ----------------------------------------------------------------


class IfExists(Directive):
    """``.. if-exists:: path`` renders its content only when ``path`` exists.

    The path is relative to the documentation root (this folder). The page is
    marked as depending on the file, so it is rebuilt when the file appears.
    ``.. if-missing:: path`` is the opposite.
    """

    required_arguments = 1
    has_content = True
    render_when_present = True

    def run(self):
        env = self.state.document.settings.env
        path = HERE / self.arguments[0]
        env.note_dependency(str(path))
        if path.exists() != self.render_when_present:
            return []
        container = nodes.container()
        self.state.nested_parse(self.content, self.content_offset, container)
        return container.children


class IfMissing(IfExists):
    render_when_present = False


def _benchmark_pages() -> dict[str, str]:
    """What ``:benchmark:`` accepts, and the page each one links.

    A page of docs/benchmarks (``accuracy``, ``decisions`` ...) links itself; a record
    id of benchmarks/results.jsonl, or the name of the report a row came from
    (``kernels_loo``), links the page of its question.
    """
    sys.path.insert(0, str(HERE.parent))
    from benchmarks.make_pages import read_record, report_of

    pages = {path.stem: path.stem for path in (HERE / "benchmarks").glob("*.md")}
    for row in read_record():
        pages.setdefault(row["id"], row["question"])
        pages.setdefault(report_of(row), row["question"])
    return pages


BENCHMARK_PAGES = _benchmark_pages()


def benchmark_role(name, rawtext, text, lineno, inliner, options=None, content=()):
    """``:benchmark:`kernels_loo``` links the benchmark page that holds that name.

    The name is a page of docs/benchmarks, shown with its title, or a record id or
    report name of the results record, shown as the name and linked to the page of
    its question (see ``_benchmark_pages``). Any other name is an error, so a link
    cannot outlive its page or row.
    """
    env = inliner.document.settings.env
    env.note_dependency(str(HERE.parent / "benchmarks" / "results.jsonl"))
    page = BENCHMARK_PAGES.get(text)
    if page is None:
        message = inliner.reporter.error(
            f"benchmark {text!r} is neither a page of docs/benchmarks nor a record id or "
            "report of benchmarks/results.jsonl",
            line=lineno,
        )
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    target = f"/benchmarks/{page}" if page == text else f"{text} </benchmarks/{page}>"
    doc_role, _ = roles.role("doc", inliner.language, lineno, inliner.reporter)
    return doc_role("doc", rawtext, target, lineno, inliner, options or {}, [])


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document only the methods this package defines, inherited ones included.

    The class template asks for inherited members so that, e.g., ``transform``
    of the representations (defined on their private base class) is shown.
    Methods inherited from scikit-learn, skorch or torch (``set_params``,
    ``set_output``, the ``set_*_request`` methods of metadata routing ...) are
    documented by those projects; their docstrings cross-reference their own
    documentation, which this offline build cannot resolve.
    """
    if what == "class" and callable(obj):
        module = getattr(obj, "__module__", None) or ""
        if not module.startswith("acn_sklearn"):
            return True
    return None


#: Parameters that change speed and memory, not results: left out of the defaults tables.
OPERATIONAL = ("n_jobs", "memory", "max_memory", "block_size")
#: sklearn Pipeline parameters that are not model settings.
PIPELINE_PLUMBING = ("steps", "verbose", "transform_input")


def _write_model_defaults() -> None:
    """Write api/generated/model_defaults.inc: each model's defaults, read from the code.

    The models page includes it, so the documented defaults cannot drift from
    the factories' and the regressor's actual parameters.
    """
    from acn_sklearn import (
        ACNRegressor,
        make_cm_krr,
        make_cm_nystroem,
        make_fchl19_krr,
        make_slatm_krr,
        make_slatm_nystroem,
    )

    def row(name, value):
        if isinstance(value, type):  # e.g. criterion=torch.nn.L1Loss
            value = f"{value.__module__.split('.')[0]}.nn.{value.__name__}"
            return f"   * - ``{name}``\n     - ``{value}``\n"
        return f"   * - ``{name}``\n     - ``{value!r}``\n"

    blocks = []
    for title, model in [
        ("make_cm_krr()", make_cm_krr()),
        ("make_slatm_krr()", make_slatm_krr()),
        ("make_fchl19_krr()", make_fchl19_krr()),
        ("make_cm_nystroem()", make_cm_nystroem()),
        ("make_slatm_nystroem()", make_slatm_nystroem()),
    ]:
        params = model.get_params(deep=True)
        steps = [name for name, _ in getattr(model, "steps", [])]
        # The pipeline's own parameters (other than its steps and sklearn's
        # Pipeline plumbing), then each step's, in the order the steps run.
        names = [
            key
            for key in model.get_params(deep=False)
            if key not in steps and key not in PIPELINE_PLUMBING and key not in OPERATIONAL
        ]
        names += [
            f"{step}__{key}"
            for step in steps
            for key in params[step].get_params(deep=False)
            if key not in OPERATIONAL
        ]
        rows = "".join(row(n, params[n]) for n in names)
        blocks.append(
            f".. list-table:: ``{title}``\n   :header-rows: 1\n   :widths: 40 60\n\n"
            f"   * - parameter\n     - default\n{rows}"
        )
    params = ACNRegressor().get_params(deep=False)
    own = [
        name
        for name, p in inspect.signature(ACNRegressor.__init__).parameters.items()
        if p.kind is p.KEYWORD_ONLY or (p.kind is p.POSITIONAL_OR_KEYWORD and name != "self")
    ]
    rows = "".join(row(k, params[k]) for k in own if k in params and k not in OPERATIONAL)
    blocks.append(
        ".. list-table:: ``ACNRegressor()``\n   :header-rows: 1\n   :widths: 40 60\n\n"
        f"   * - parameter\n     - default\n{rows}"
    )
    out = HERE / "api" / "generated" / "model_defaults.inc"
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_if_changed(out, "\n".join(blocks))


def _write_cli_help() -> None:
    """Write api/generated/cli_<command>.inc: the ``--help`` text of each subcommand.

    The command-line page includes them, so it always shows the real options.
    """
    from acn_sklearn.cli import build_parser

    os.environ["COLUMNS"] = "88"  # argparse wraps to the terminal width
    parser = build_parser()
    pages = {"acn-sklearn": parser.format_help()}
    for action in parser._subparsers._group_actions:  # the subcommands
        for name, subparser in action.choices.items():
            pages[name] = subparser.format_help()
    out = HERE / "api" / "generated"
    out.mkdir(parents=True, exist_ok=True)
    for name, text in pages.items():
        body = "".join(f"   {line}".rstrip() + "\n" for line in text.splitlines())
        _write_if_changed(out / f"cli_{name}.inc", f".. code-block:: text\n\n{body}")


def _write_search_spaces() -> None:
    """Write api/generated/search_spaces.inc: each catalogue entry's search space as a table."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    from acn_sklearn.registry import CATALOGUE

    def describe(dist) -> str:
        if isinstance(dist, CategoricalDistribution):
            return "one of " + ", ".join(f"``{c!r}``" for c in dist.choices)
        kind = "real" if isinstance(dist, FloatDistribution) else "integer"
        scale = ", log scale" if dist.log else ""
        step = f", step {dist.step:g}" if dist.step not in (None, 1) else ""
        return f"{kind} from {dist.low:g} to {dist.high:g}{scale}{step}"

    blocks = []
    for model, entry in CATALOGUE.items():
        if not entry.search_space:  # an exact model: nothing to tune
            continue
        rows = "".join(
            f"   * - ``{name}``\n     - {describe(dist)}\n"
            for name, dist in entry.search_space.items()
        )
        blocks.append(
            f".. list-table:: ``{model}``\n   :header-rows: 1\n   :widths: 35 65\n\n"
            f"   * - parameter\n     - searched over\n{rows}"
        )
    _write_if_changed(HERE / "api" / "generated" / "search_spaces.inc", "\n".join(blocks))


def _write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` unless the file already holds it (keeps incremental builds quiet)."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def setup(app):
    directives.register_directive("if-exists", IfExists)
    directives.register_directive("if-missing", IfMissing)
    roles.register_local_role("benchmark", benchmark_role)
    app.connect("autodoc-skip-member", _skip_foreign_members)
    _write_model_defaults()
    _write_cli_help()
    _write_search_spaces()
