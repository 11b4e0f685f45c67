"""Structural rules: the dependency direction, the Procfile's queues, the catalogs, migrations."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy import Engine

from core.queue import QUEUE_NAMES
from schema import migrate

ROOT = Path(__file__).resolve().parent.parent
# The layers, lowest first: a module imports only from lower layers (and its own package);
# packages that share a layer do not import each other. README.md, "Layout", says why.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),
    ("scoring",),
    ("distribution",),
    ("schema", "texts"),
    ("web",),
    ("ivr", "sms", "hotline", "webforms", "phone"),
    ("cli",),
    ("assembly",),
    ("wsgi", "rq_config", "gunicorn"),
)
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}
DOMAIN = ("core", "scoring", "distribution")
FORBIDDEN_IN_DOMAIN = ("flask", "flask_babel", "flask_wtf", "twilio", "werkzeug")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES_P90 = 25


def product_modules() -> dict[str, Path]:
    """Every module of the service by dotted name (migration scripts are Alembic's, not ours)."""
    found = {path.stem: ROOT / path for path in map(Path, ("wsgi.py", "rq_config.py"))}
    found["gunicorn"] = ROOT / "gunicorn.conf.py"
    for package in RANK:
        for path in (ROOT / package).rglob("*.py"):
            if "versions" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = product_modules()


def _imports(module: str, path: Path) -> set[str]:
    """The product modules `module` imports, wherever the import stands (functions too)."""
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    resolved = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module:
            resolved.add(name)
    return resolved


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _package(module: str) -> str:
    return module.split(".")[0]


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one node (Tarjan), each a circle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_circle_between_files() -> None:
    assert _circles(GRAPH) == []


def test_no_circle_between_packages() -> None:
    packages: dict[str, set[str]] = {}
    for module, imported in GRAPH.items():
        packages.setdefault(_package(module), set()).update(
            _package(other) for other in imported if _package(other) != _package(module)
        )
    assert _circles(packages) == []


def test_imports_only_point_down_the_layers() -> None:
    upward = [
        f"{module} -> {other}"
        for module, imported in GRAPH.items()
        for other in imported
        if _package(other) != _package(module) and RANK[_package(other)] >= RANK[_package(module)]
    ]
    assert upward == []


def test_every_product_package_has_a_layer() -> None:
    """A new top-level package is placed in LAYERS (and the README) before it is imported."""
    folders = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert folders <= set(RANK)


@pytest.mark.parametrize("package", DOMAIN)
def test_domain_imports_no_web_or_twilio(package: str) -> None:
    bad = [
        f"{path.relative_to(ROOT)}: {name}"
        for module, path in MODULES.items()
        if _package(module) == package
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for name in (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        )
        if name.split(".")[0] in FORBIDDEN_IN_DOMAIN
    ]
    assert bad == []


def _dotted_function(text: str) -> bool:
    """`text` names a function of a product module by its dotted path ("sms.jobs.send")."""
    module, _, name = text.rpartition(".")
    if module not in MODULES or not name.isidentifier():
        return False
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    return any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name
        for node in tree.body
    )


def test_no_job_is_named_by_a_string() -> None:
    """Work is queued by kind (`core.queue.Work`) and registered in assembly/jobs.py."""
    named = [
        f"{path.relative_to(ROOT)}: {node.value}"
        for path in MODULES.values()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if _dotted_function(node.value)
    ]
    assert named == []


def test_no_product_module_is_over_400_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)}: {n}"
        for path in MODULES.values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert long == []


def test_nine_functions_in_ten_are_short() -> None:
    lengths = sorted(
        node.end_lineno - node.lineno + 1
        for path in MODULES.values()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno
    )
    assert lengths[int(len(lengths) * 0.9)] <= MAX_FUNCTION_LINES_P90


def test_procfile_worker_listens_to_every_queue_in_priority_order() -> None:
    procfile = (ROOT / "Procfile").read_text()
    worker = re.search(r"^worker:\s*rq worker (.*)$", procfile, re.M)
    assert worker, "the Procfile has no rq worker"
    queues = [word for word in worker.group(1).split() if not word.startswith(("-", "$"))]
    assert tuple(queues) == QUEUE_NAMES
    assert re.search(r"^web:\s*gunicorn .*\$PORT.* wsgi:app", procfile, re.M)


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_every_string_in_the_code_is_translated(language: str) -> None:
    """A string added to a template or view without its Arabic and French is caught here."""
    catalog_path = ROOT / "web" / "translations" / language / "LC_MESSAGES" / "messages.po"
    with catalog_path.open("rb") as handle:
        catalog = read_po(handle)
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    missing = []
    for package in (p for p in RANK if (ROOT / p).is_dir()):
        for extracted in extract_from_dir(ROOT / package, method_map, keywords=keywords):
            message = extracted[2]
            text = message if isinstance(message, str) else message[0]
            entry = catalog.get(text)
            if entry is None or not entry.string or entry.fuzzy:
                missing.append(text)
    assert missing == []


@pytest.mark.parametrize("language", ["ar", "en", "fr"])
def test_translations_keep_their_placeholders(language: str) -> None:
    path = ROOT / "web" / "translations" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    placeholder = re.compile(r"%\(\w+\)s")
    for message in catalog:
        if message.id and message.string:
            assert sorted(placeholder.findall(str(message.string))) == sorted(
                placeholder.findall(str(message.id))
            ), message.id


def test_models_and_migrations_agree(engine: Engine) -> None:
    """The migrations build exactly the models' schema, on SQLite and on PostgreSQL."""
    migrate.check(engine)


# Reading the machine's time directly, where the service clock (core/clock.py) belongs.
MACHINE_TIME = re.compile(r"\b(?:datetime\.now|datetime\.utcnow|date\.today|time\.time)\(")
# The one clock itself; the SMS gateway's look-up of the provider's own log by its timestamps.
MACHINE_TIME_ALLOWED = {"core/clock.py", "sms/twilio_backend.py"}


def test_the_service_reads_one_clock() -> None:
    """A date read past core.clock is one a test cannot set, and a bug the day it changes."""
    service = [p for p in RANK if (ROOT / p).is_dir()]
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in service
        for path in (ROOT / package).rglob("*.py")
        if str(path.relative_to(ROOT)) not in MACHINE_TIME_ALLOWED
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if MACHINE_TIME.search(line)
    ]
    assert found == []


# Where a function of the domain may be used: the code, its tests, templates, scripts.
USERS_OF_THE_DOMAIN = (*(p for p in RANK if (ROOT / p).is_dir()), "tests", "bench", "bin")
# Unused today and kept on purpose; each says why (use it, or delete it with its entry).
UNUSED_ON_PURPOSE = {"core/audit_key.py: use_key"}  # for tests to install a key directly


def _words_of_the_project() -> Counter[str]:
    paths = [ROOT / "wsgi.py", ROOT / "Procfile"]
    paths += [
        p for folder in USERS_OF_THE_DOMAIN for p in (ROOT / folder).rglob("*") if p.is_file()
    ]
    words: Counter[str] = Counter()
    for path in paths:
        if path.suffix in ("", ".py", ".html", ".txt", ".sh") and path != Path(__file__).resolve():
            words.update(re.findall(r"\w+", path.read_text(encoding="utf-8", errors="ignore")))
    return words


def test_every_public_function_and_class_of_the_domain_is_used() -> None:
    """A function nothing calls is a rule nobody follows, and misleads its reader: delete it."""
    words = _words_of_the_project()
    unused = [
        f"{path.relative_to(ROOT).as_posix()}: {node.name}"
        for package in DOMAIN
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")
        if words[node.name] < 2  # its own definition is the only mention
    ]
    assert set(unused) - UNUSED_ON_PURPOSE == set()


def _imported_names(tree: ast.Module) -> list[tuple[int, str]]:
    """Each module an import names, with its line: `from a import b` names `a` and `a.b` (b may
    be a module)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def test_no_test_module_imports_another() -> None:
    """What tests share lives in tests/support (helpers) and tests/plugins (fixtures, loaded by
    tests/conftest.py): a helper imported from a test module hides where it lives, and a
    fixture imported so shadows the shared one."""
    found = [
        f"{path.relative_to(ROOT).as_posix()}:{line} imports {name}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for line, name in _imported_names(ast.parse(path.read_text(encoding="utf-8")))
        if name.rpartition(".")[2].startswith("test_")
    ]
    assert found == []


def _fixture_name(node: ast.stmt) -> str | None:
    """The name a fixture is requested by, if `node` defines one."""
    if not isinstance(node, ast.FunctionDef):
        return None
    for decorator in node.decorator_list:
        if "fixture" in ast.unparse(decorator):
            named = [k.value for k in getattr(decorator, "keywords", []) if k.arg == "name"]
            return str(ast.literal_eval(named[0])) if named else node.name
    return None


def test_no_fixture_name_is_defined_twice() -> None:
    """One name, one thing: a fixture shared by several modules lives once in tests/plugins
    (or conftest.py); fixtures that build different things have names that say how."""
    where: dict[str, list[str]] = {}
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (name := _fixture_name(node)) is not None:
                where.setdefault(name, []).append(path.relative_to(ROOT).as_posix())
    assert {name: paths for name, paths in where.items() if len(paths) > 1} == {}
