"""The README and the documentation's sources: size, links, citation metadata, generated pages.

The Sphinx build itself (``make docs``, with the gallery and the doctests) runs in CI after the
tests; these checks are the fast part of it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import dgnsim

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def _links(markdown: str) -> list[str]:
    """Targets of the Markdown links ``[text](target)`` outside code blocks."""
    text = re.sub(r"```.*?```", "", markdown, flags=re.S)
    return re.findall(r"\[[^\]]*\]\(([^)\s]+)\)", text)


def test_readme_is_short_and_starts_with_the_two_commands():
    raw = README.read_bytes()
    assert len(raw) <= 8 * 1024, f"README.md is {len(raw)} bytes; at most 8 KB (move long content to docs/)"
    head = raw.decode().splitlines()[:6]
    assert any(line.startswith("make run") for line in head) and any(line.startswith("make test") for line in head)


def test_every_readme_link_resolves():
    links = _links(README.read_text())
    assert links, "no links found in README.md"
    for target in links:
        if re.match(r"[a-z]+://", target):
            continue  # external: not checked offline
        path = (ROOT / target.split("#")[0]).resolve()
        assert path.exists(), f"README.md links to {target}, which does not exist"


def test_citation_metadata_matches_the_package():
    text = (ROOT / "CITATION.cff").read_text()
    assert re.search(r"^cff-version: 1\.2\.0$", text, flags=re.M)
    version = re.search(r'^version: "?([^"\n]+)"?$', text, flags=re.M)
    assert version and version.group(1) == dgnsim.__version__
    licence = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    assert re.search(rf"^license: {re.escape(licence)}$", text, flags=re.M)


def _git_ignored(path: str) -> bool:
    """Whether git ignores ``path`` (False where git or the repository is not there)."""
    try:
        done = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, capture_output=True, check=False)
    except OSError:
        return False
    return done.returncode == 0


def test_every_result_file_has_a_protocol():
    protocols = tomllib.loads((DOCS / "results" / "protocols.toml").read_text())
    named = [key for group in protocols["group"] for key in group["files"]]
    for key in named:  # a file named but absent is skipped by the docs build (e.g. not yet committed)
        assert protocols["file"].get(key, {}).get("protocol"), f"{key}: no protocol in docs/results/protocols.toml"
    files = sorted(
        str(p.relative_to(ROOT)) for p in [*ROOT.glob("results/*.md"), *ROOT.glob("benchmarks/results/*.md")]
    )
    files = [f for f in files if not _git_ignored(f)]  # e.g. a benchmark's --quick output: never in a clone
    missing = [f for f in files if f not in named]
    assert not missing, f"result files without a protocol in docs/results/protocols.toml: {missing}"


def test_docs_build_is_wired_into_make_and_ci():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^docs: ", makefile, flags=re.M) and "-W" in makefile and "-b doctest" in makefile
    assert "make docs" in (ROOT / ".ci" / "run").read_text()


@pytest.fixture(scope="module")
def docs_ext():
    pytest.importorskip("sphinx", reason="the docs extra (pip install -e '.[docs]')")
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import dgnsim_docs
        import dgnsim_latex

        yield dgnsim_docs, dgnsim_latex
    finally:
        sys.path.remove(str(DOCS / "_ext"))


def test_latex_of_brian2_expressions(docs_ext):
    _, latex = docs_ext
    assert latex.expression("(v_rest - v + g*(E_gate - v))/tau_mem") == (
        r"\frac{v_{\mathrm{rest}} - v + g\,\left(E_{\mathrm{gate}} - v\right)}{\tau_{\mathrm{mem}}}"
    )
    assert latex.expression("v*(_rho_v + abs(_rho_v))/2") == r"v\,\max\left(0, \rho_{v}\right)"
    assert latex.expression("-dt/tau_syn") == r"-\frac{\Delta t}{\tau_{\mathrm{syn}}}"
    assert latex.statements("v -= v_th - v_rest") == [
        r"v \leftarrow v - \left(v_{\mathrm{th}} - v_{\mathrm{rest}}\right)"
    ]
    assert latex.symbol("noise_sigma") == r"\sigma_{\mathrm{noise}}" and latex.symbol("a0") == "a_{0}"


def test_every_model_page_is_generated_from_its_file(docs_ext):
    pages, latex = docs_ext
    for name in dgnsim.list_models():
        page = pages.model_page(name)
        spec = dgnsim.load_model(name)
        for p in spec.parameters:
            assert f"``{p}``" in page, f"{name}: parameter {p} missing from its page"
        assert spec.threshold in page and latex.expression(spec.threshold) in page
    dgn = pages.model_page("dgn")
    assert r"E_{\mathrm{gate}}" in dgn and r"\frac{\mathrm{d}v}{\mathrm{d}t}" in dgn
    assert "Reset variant ``soft``" in dgn and r"\max\left(0, \rho_{v}\right)" in dgn


def test_committed_intersphinx_inventories_are_real_small_and_link_online():
    """Each ``docs/_inv/<name>.inv`` is a Sphinx inventory under 1 MB, of a name that ``docs/conf.py``
    maps to an online URL (its links go there, not to the file), and ``docs/_inv/README`` says where
    it comes from."""
    pytest.importorskip("sphinx", reason="the docs extra (pip install -e '.[docs]')")
    import ast
    import posixpath

    from sphinx.util.inventory import InventoryFile

    tree = ast.parse((DOCS / "conf.py").read_text())
    online = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_INVENTORIES" for t in node.targets)
    )
    readme = (DOCS / "_inv" / "README").read_text()
    known = {"python": ("py:class", "pathlib.Path")}  # an object each inventory must hold
    inventories = sorted((DOCS / "_inv").glob("*.inv"))
    assert inventories, "no committed inventory"
    for inv in inventories:
        name = inv.stem
        assert inv.stat().st_size < 1 << 20, f"{inv}: over 1 MB"
        assert name in online and online[name].startswith("https://"), f"{inv}: docs/conf.py maps no URL to it"
        assert f"{name}.inv" in readme, f"{inv}: docs/_inv/README does not say where it comes from"
        with inv.open("rb") as fh:
            data = InventoryFile.load(fh, online[name], posixpath.join)
        assert sum(len(entries) for entries in data.values()) > 1000, f"{inv}: too few entries for a real inventory"
        if name in known:
            kind, obj = known[name]
            item = data[kind][obj]
            uri = getattr(item, "uri", None) or item[2]
            assert uri.startswith(online[name]), f"{inv}: {obj} links to {uri}, not to {online[name]}"
