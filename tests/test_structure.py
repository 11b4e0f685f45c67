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
ADAPTERS = ("ivr", "sms", "hotline", "webforms")
DOMAIN = ("core", "scoring")
FORBIDDEN_IN_DOMAIN = (
    "flask",
    "flask_babel",
    "flask_wtf",
    "twilio",
    "werkzeug",
    "web",
    "cli",
    *ADAPTERS,
)


def imported_modules(package: str) -> list[tuple[str, str]]:
    found = []
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(str(path.relative_to(ROOT)), alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((str(path.relative_to(ROOT)), node.module))
    return found


@pytest.mark.parametrize("package", DOMAIN)
def test_domain_imports_no_web_twilio_or_adapter(package: str) -> None:
    bad = [(f, m) for f, m in imported_modules(package) if m.split(".")[0] in FORBIDDEN_IN_DOMAIN]
    assert bad == []


@pytest.mark.parametrize("package", ADAPTERS)
def test_adapters_do_not_import_each_other(package: str) -> None:
    others = set(ADAPTERS) - {package}
    bad = [(f, m) for f, m in imported_modules(package) if m.split(".")[0] in others]
    assert bad == []


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
    for package in ("core", "web", "webforms", "cli", "ivr", "sms", "hotline"):
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
    service = (*DOMAIN, "web", *ADAPTERS, "cli")
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
USERS_OF_THE_DOMAIN = (*DOMAIN, "web", *ADAPTERS, "cli", "tests", "bench", "bin")
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
