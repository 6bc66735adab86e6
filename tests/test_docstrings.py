"""Every public function, method and class has a numpydoc docstring whose ``Parameters`` name its signature.

The public API is what the API reference documents (``docs/_ext/dgnsim_docs.py`` chooses it: each module's
``__all__``, else its own public functions and classes; the CLI's sub-command modules are left out). For each
function, each public method of a class (properties aside) and each class (the parameters of its ``__init__``),
the docstring, parsed with :mod:`numpydoc.docscrape`, must have a ``Parameters`` section that names exactly
the parameters of the signature (``self`` and ``cls`` aside; ``*args`` and ``**kwargs`` may share one entry).
A callable without parameters needs a docstring but no ``Parameters`` section.

``UNDOCUMENTED`` lists the names not yet documented so, each in a module that is being rewritten; it only
shrinks: a name on it that has been documented (or no longer exists) fails the test until it is taken off.
The documentation build enforces the Parameters rule on every docstring it renders (numpydoc's checks PR01
and PR02 in ``docs/conf.py``, which reads this list and leaves its names out, also under the names a package
re-exports them as); a callable with no docstring at all is caught by this test only (numpydoc's check for
that, GL08, also fires on attributes documented by a ``#:`` comment).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

#: Public names (module.qualname) whose docstring has no complete ``Parameters`` section yet.
UNDOCUMENTED: frozenset[str] = frozenset()


def _docs_ext():
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import dgnsim_docs
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    return dgnsim_docs


def public_callables() -> Iterator[tuple[str, object]]:
    """``(qualified name, object)`` of each public function, class and method the API pages document."""
    ext = _docs_ext()
    for module_name in ext._api_modules():
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # an optional extra that is not installed (the API page is left out too)
            continue
        for name in ext._public_names(module):
            obj = getattr(module, name, None)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or obj.__module__ != module_name:
                continue  # data, or documented on the page of the module that defines it
            yield f"{module_name}.{obj.__qualname__}", obj
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or isinstance(member, property):
                        continue
                    if isinstance(member, staticmethod | classmethod):
                        member = member.__func__
                    if inspect.isfunction(member):
                        yield f"{module_name}.{obj.__qualname__}.{attr}", getattr(obj, attr)


def _own_init(cls: type) -> bool:
    """Whether a class has a constructor written in Python (not only object's or a builtin's)."""
    for klass in cls.__mro__:
        if klass is object or klass.__module__ == "builtins":
            return False
        if "__init__" in vars(klass) or "__new__" in vars(klass):
            return True
        if "__signature__" in vars(klass) or "__dataclass_fields__" in vars(klass):
            return True
    return False


def signature_names(obj) -> list[str]:
    """The parameters of a callable as its docstring names them (``*args``, ``**kwargs``; no ``self``)."""
    if inspect.isclass(obj) and not _own_init(obj):
        return []
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    names = []
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            names.append(f"*{p.name}")
        elif p.kind is p.VAR_KEYWORD:
            names.append(f"**{p.name}")
        else:
            names.append(p.name)
    if names and names[0] in ("self", "cls") and not inspect.isclass(obj):
        names = names[1:]
    return names


def problem(obj) -> str | None:
    """Why the docstring of ``obj`` is not complete, or None."""
    from numpydoc.docscrape import NumpyDocString

    doc = inspect.getdoc(obj) if not inspect.isclass(obj) else obj.__doc__
    if not doc or not doc.strip():
        return "no docstring"
    try:
        parsed = NumpyDocString(inspect.cleandoc(doc))
    except Exception as exc:  # numpydoc refuses the docstring
        return f"numpydoc cannot parse it: {exc}"
    documented = [n.strip().replace("\\", "") for p in parsed["Parameters"] for n in p.name.split(",")]
    expected = signature_names(obj)
    missing = [n for n in expected if n not in documented]
    unknown = [n for n in documented if n not in expected]
    if missing or unknown:
        return f"Parameters section: missing {missing}, unknown {unknown}"
    return None


@pytest.fixture(scope="module")
def problems() -> dict[str, str | None]:
    pytest.importorskip("sphinx", reason="the docs extra (pip install -e '.[docs]')")
    pytest.importorskip("numpydoc", reason="the docs extra (pip install -e '.[docs]')")
    return {name: problem(obj) for name, obj in public_callables()}


def test_the_public_api_is_found(problems):
    assert "dgnsim.core.models.load_model" in problems and "dgnsim.brian.backend.Simulation.run" in problems
    assert not any(".cli.commands." in name for name in problems)


def test_every_public_callable_has_its_parameters_documented(problems):
    bad = {name: why for name, why in problems.items() if why and name not in UNDOCUMENTED}
    assert not bad, "public callables without a complete numpydoc docstring:\n" + "\n".join(
        f"  {name}: {why}" for name, why in sorted(bad.items())
    )


def test_the_list_of_undocumented_names_only_shrinks(problems):
    stale = sorted(name for name in UNDOCUMENTED if name not in problems or not problems[name])
    assert not stale, "documented now (or gone): take them off UNDOCUMENTED in tests/test_docstrings.py: " + ", ".join(
        stale
    )
