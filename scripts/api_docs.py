"""Build the API reference of utd_stream_rx from its docstrings with pdoc, and check it.

Run by ``scripts/docs``::

    python scripts/api_docs.py                  # HTML into site/api/
    python scripts/api_docs.py --output DIR     # HTML into DIR
    python scripts/api_docs.py --check          # into a temporary directory; exit 1 on a problem

``--check`` (and ``--strict`` with a build) fails on

- a broken cross-reference: a Sphinx role (``:class:``, ``:meth:``, ...) or a backticked
  ``utd_stream_rx.`` name that pdoc could not turn into a link (pdoc leaves those as plain
  code without a word, so the rendered pages are read back);
- a public name without a docstring: each public module's ``__all__`` (classes, functions),
  and the public methods and properties of each public class (its own and those it inherits
  from the package's classes).

Docstrings are Google style with Sphinx roles; ``~`` in a role (``:class:`~a.b.C```) is
dropped, and the reference is shown and linked by its full name.
"""

from __future__ import annotations

import argparse
import html
import importlib
import inspect
import re
import sys
import tempfile
import types
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pdoc.doc
import pdoc.render
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "site" / "api"

PUBLIC_MODULES = (
    "utd_stream_rx",
    "utd_stream_rx.api",
    "utd_stream_rx.models",
    "utd_stream_rx.errors",
    "utd_stream_rx.media",
    "utd_stream_rx.notebook",
    "utd_stream_rx.state",
    "utd_stream_rx.state.events",
    "utd_stream_rx.state.notices",
    "utd_stream_rx.state.view_specs",
    "utd_stream_rx.testing",
    "utd_stream_rx.testing.cluster",
    "utd_stream_rx.testing.marbles",
    "utd_stream_rx.testing.media_probe",
    "utd_stream_rx.testing.load_balancer",
    "utd_stream_rx.testing.postgres",
    "utd_stream_rx.testing.redis",
    "utd_stream_engine",
)
"""The modules the reference documents: the SDK package, what users import from it, the test
tooling and the modules the README points to; and the reference engine's package. Private
``_modules`` are never documented."""

# A Sphinx cross-reference role as the docstrings write them.
_ROLE = re.compile(r"(?::py)?:(mod|func|data|const|class|meth|attr|exc|obj):`(~?)([^`]+)`")
# A name of the packages in single backticks, not a role's target (double backticks are a
# literal by convention).
_PACKAGE_NAME = "(?<![`:])`((?:{packages})\\.[\\w.]+(?:\\(\\))?)`(?!`)"
# Marks a reference that must become a link, from the docstring to pdoc's linking step.
_MARK = "<!--must-link-->"
_MARKED = re.compile(re.escape(_MARK) + r"<code>(.*?)</code>")


class ReferenceChecker:
    """Hooks into pdoc's rendering to find the references it could not link.

    pdoc leaves a reference it cannot resolve as plain code, without a word. Each reference
    (a Sphinx role into this package, or a backticked name of the package) is marked when its
    docstring is converted, and looked at after pdoc's linking step: a marked reference
    without a link is broken.
    """

    def __init__(self, packages: Iterable[str]) -> None:
        self.packages = frozenset(packages)
        names = "|".join(re.escape(package) for package in sorted(self.packages))
        self._package_name = re.compile(_PACKAGE_NAME.format(packages=names))
        self.broken: list[str] = []
        """``module (namespace): `reference``` for each reference pdoc could not link."""

    def install(self) -> None:
        """Wrap pdoc's ``to_markdown`` and ``linkify`` filters."""
        filters = pdoc.render.env.filters
        filters["to_markdown"] = self._marking(filters["to_markdown"])
        filters["linkify"] = self._checking(filters["linkify"])

    def _mark_role(self, match: re.Match[str]) -> str:
        kind, target = match.group(1), match.group(3)
        mark = _MARK if self._is_ours(target) else ""
        return f"{mark}:{kind}:`{target}`"  # the "~" dropped: pdoc would show it

    def _is_ours(self, target: str) -> bool:
        """Whether ``target`` names something of the documented packages (relative, bare or
        absolute); references into other libraries are left to be plain code."""
        root = target.lstrip(".").split(".")[0]
        return "." not in target or target.startswith(".") or root in self.packages

    def _marking(self, original: Callable[..., str]) -> Callable[..., str]:
        @pass_context
        def to_markdown(context: Context, docstring: str) -> str:
            docstring = _ROLE.sub(self._mark_role, docstring)
            # After the roles: a role's target is preceded by ":" and not marked twice.
            return original(context, self._package_name.sub(_MARK + r"`\1`", docstring))

        return to_markdown

    def _checking(self, original: Callable[..., Markup]) -> Callable[..., Markup]:
        @pass_context
        def linkify(
            context: Context, code: str, namespace: str = "", shorten: bool = True
        ) -> Markup:
            linked = str(original(context, code, namespace, shorten))
            where = context["module"].modulename + (f" ({namespace})" if namespace else "")
            for match in _MARKED.finditer(linked):
                if "<a " not in match.group(1):
                    text = html.unescape(match.group(1))
                    self.broken.append(f"{where}: cannot resolve `{text}`")
            return Markup(linked.replace(_MARK, ""))

        return linkify


def load_exports(modules: Iterable[str]) -> None:
    """Import each name of each module's ``__all__`` into the module's namespace: pdoc reads
    names from there, and a module that imports lazily (``__getattr__``) has them only once
    asked for."""
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name, None)
            if value is not None:
                module.__dict__.setdefault(name, value)


def render(modules: Iterable[str], output: Path, checker: ReferenceChecker) -> list[str]:
    """Render ``modules`` (and an index and search) into ``output`` with pdoc; return the
    warnings pdoc gave (a name in ``__all__`` that does not resolve, an unreadable
    annotation ...)."""
    pdoc.render.configure(docformat="google", show_source=False, search=True)
    checker.install()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _write_pages(modules, output)
    return [f"pdoc: {warning.message}" for warning in caught]


def _write_pages(modules: Iterable[str], output: Path) -> None:
    load_exports(modules)
    all_modules = {name: pdoc.doc.Module.from_name(name) for name in modules}
    output.mkdir(parents=True, exist_ok=True)
    for module in all_modules.values():
        page = output / f"{module.fullname.replace('.', '/')}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(pdoc.render.html_module(module, all_modules), encoding="utf-8")
    (output / "index.html").write_text(pdoc.render.html_index(all_modules), encoding="utf-8")
    (output / "search.js").write_text(pdoc.render.search_index(all_modules), encoding="utf-8")


_MISSING = object()


def undocumented(modules: Iterable[str], packages: frozenset[str]) -> list[str]:
    """Public names without a docstring: each module's ``__all__`` classes and functions, and
    the public methods and properties of those classes."""
    problems: list[str] = []
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name, _MISSING)
            where = f"{module_name}.{name}"
            if value is _MISSING:
                problems.append(f"{where}: in __all__ but not defined")
            elif inspect.isclass(value):
                if not value.__dict__.get("__doc__"):
                    problems.append(f"{where}: class without a docstring")
                problems.extend(_undocumented_members(value, where, packages))
            elif inspect.isfunction(value) and not inspect.getdoc(value):
                problems.append(f"{where}: function without a docstring")
    return sorted(set(problems))


def _undocumented_members(cls: type, where: str, packages: frozenset[str]) -> Iterator[str]:
    """The public methods and properties ``cls`` defines or inherits from the documented
    packages' classes that have no docstring (one inherited from a base counts)."""
    seen: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] not in packages:
            continue
        for name, member in vars(klass).items():
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            if _is_callable_member(member) and not inspect.getdoc(getattr(cls, name)):
                yield f"{where}.{name}: method without a docstring"
            elif isinstance(member, property | types.DynamicClassAttribute) and not (
                member.__doc__ or (member.fget is not None and member.fget.__doc__)
            ):
                yield f"{where}.{name}: property without a docstring"


def _is_callable_member(member: object) -> bool:
    return inspect.isfunction(member) or isinstance(member, staticmethod | classmethod)


def main(argv: list[str] | None = None) -> int:
    """Build the reference; with ``--check`` or ``--strict``, exit 1 listing its problems."""
    args = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    args.add_argument("--output", type=Path, help=f"where to write (default {DEFAULT_OUTPUT})")
    args.add_argument("--check", action="store_true",
                      help="build into a temporary directory (unless --output) and check it")
    args.add_argument("--strict", action="store_true", help="check what is built")
    args.add_argument("--modules", nargs="+", default=list(PUBLIC_MODULES),
                      help="modules to document (default: the SDK's public modules)")
    opts = args.parse_args(argv)
    checker = ReferenceChecker(module.split(".")[0] for module in opts.modules)
    with tempfile.TemporaryDirectory(prefix="api-docs-") as scratch:
        output = opts.output or (Path(scratch) if opts.check else DEFAULT_OUTPUT)
        problems = render(opts.modules, output, checker)
        if not (opts.check or opts.strict):
            print(f"API reference written to {output}/index.html")
            return 0
        problems += sorted(set(checker.broken)) + undocumented(opts.modules, checker.packages)
    for problem in problems:
        print(problem)
    pages = len(opts.modules)
    if problems:
        print(f"{len(problems)} problems in the API reference of {pages} modules")
        return 1
    print(f"API reference of {pages} modules: every reference resolves, every public name "
          "is documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())
