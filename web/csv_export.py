"""CSV downloads that Excel opens in Arabic, streamed as they are read, safe to open.

A list of a million rows is written in chunks while the store is read in batches, so it
never sits whole in memory. A cell that a spreadsheet would run as a formula (OWASP's "CSV
injection": text typed by a caller could start with `=`) is defused with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from flask import Response, stream_with_context

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
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    """A streamed attachment; call it in a view (the rows are read while the file is sent)."""
    response = Response(
        stream_with_context(_lines(header, rows)), content_type="text/csv; charset=utf-8"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"  # it holds records of families
    return response


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
