"""CSV downloads that Excel opens in Arabic, streamed as they are read, safe to open.

A list of a million rows is written in chunks while the store is read in batches, so it
never sits whole in memory. The file is sent after the request has ended and its session has
closed, so a file read from the store reads in a session of its own, opened when the first
chunk is asked for and closed when the last is sent or the download is abandoned: a transaction
left open would hold a connection for ever (and, on SQLite, the write lock of the whole
service). A cell that a spreadsheet would run as a formula (OWASP's "CSV injection": text typed
by a caller could start with `=`) is defused with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence

from flask import Response
from sqlalchemy.orm import Session, sessionmaker

from core.db import reader
from web import store

BOM = "\ufeff"  # without it Excel reads UTF-8 as a Windows code page and garbles Arabic
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 500  # rows written before a chunk is sent


def cell(value: object) -> str:
    """One value as a spreadsheet cell: empty for None, text a spreadsheet would run defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)  # a number, even negative, is never a formula
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_download(
    filename: str, header: Sequence[str], rows: Sequence[Sequence[object]]
) -> Response:
    """An attachment of rows already read (nothing touches the store while it is sent)."""
    return _attachment(filename, _lines(header, rows))


def csv_from_store(
    filename: str,
    header: Sequence[str],
    read: Callable[[Session], Iterable[Sequence[object]]],
) -> Response:
    """An attachment whose rows `read` fetches while it is sent, in a session of its own.

    `read` must use only the session it is given (never the request's: it is closed by then)
    and values copied out of the request, since it runs after the request has ended.
    """
    return _attachment(filename, _read_while_sending(store.session_factory(), header, read))


def _attachment(filename: str, lines: Iterator[str]) -> Response:
    response = Response(lines, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"  # it holds records of families
    return response


def _read_while_sending(
    factory: sessionmaker[Session],
    header: Sequence[str],
    read: Callable[[Session], Iterable[Sequence[object]]],
) -> Iterator[str]:
    # Closing the session ends its transaction and returns its connection, however the
    # download ends: the last chunk sent, an error, or the server closing an abandoned one.
    with reader(factory) as session:
        yield from _lines(header, read(session))


def _lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # quotes commas, quotes and line breaks; CRLF as Excel expects
    buffer.write(BOM)
    writer.writerow([cell(name) for name in header])
    for count, row in enumerate(rows, start=1):
        writer.writerow([cell(value) for value in row])
        if count % CHUNK_ROWS == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
