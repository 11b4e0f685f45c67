"""Reading the numbers a focal point pastes or uploads: CSV or one per line, checked for size
and encoding before a single row is read.

A CSV's number is in its column headed phone / mobile / number (in English, French or
Arabic), else in its first column; a first row with no digit at all is a header. UTF-8 (with
or without Excel's BOM) and UTF-16 with its BOM are read; anything else is refused with a
message saying how to save the file, never guessed at (a wrong guess turns Arabic digits into
noise). A file over `MAX_UPLOAD_BYTES` is refused; the request itself is capped by the app's
MAX_CONTENT_LENGTH, so a far larger one is refused before it is read (HTTP 413).
"""

from __future__ import annotations

import codecs
import csv
from enum import StrEnum

from werkzeug.datastructures import FileStorage

from core.arabic import fold
from core.link_batches import MAX_ROWS

MAX_UPLOAD_BYTES = 1_000_000  # 1 MB: 5,000 numbers take under 100 KB
PHONE_HEADERS = frozenset(
    {"phone", "mobile", "number", "telephone", "téléphone", "numéro", "portable"}
    | {fold(word) for word in ("هاتف", "الهاتف", "رقم", "الرقم", "رقم الهاتف", "خليوي", "جوال")}
)


class UploadProblem(StrEnum):
    """Why what was sent cannot be read (the page says it in the user's language)."""

    TOO_LARGE = "too_large"
    ENCODING = "encoding"
    BINARY = "binary"
    TOO_MANY = "too_many"
    EMPTY = "empty"


class UnreadableUpload(ValueError):
    def __init__(self, problem: UploadProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def read_entries(pasted: str, upload: FileStorage | None) -> list[tuple[int, str]]:
    """(line, as typed) for each non-empty row of the file, or of the paste if no file."""
    if upload is not None and upload.filename:
        text = decode(_bounded(upload))
    else:
        if len(pasted.encode("utf-8")) > MAX_UPLOAD_BYTES:
            raise UnreadableUpload(UploadProblem.TOO_LARGE)
        text = pasted
    entries = parse(text)
    if not entries:
        raise UnreadableUpload(UploadProblem.EMPTY)
    if len(entries) > MAX_ROWS:
        raise UnreadableUpload(UploadProblem.TOO_MANY)
    return entries


def _bounded(upload: FileStorage) -> bytes:
    """The file's bytes, reading no more than one byte past the limit."""
    data = upload.stream.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise UnreadableUpload(UploadProblem.TOO_LARGE)
    return data


def decode(data: bytes) -> str:
    """UTF-8 (BOM or not), or UTF-16 with its BOM; anything else is refused."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\x00" in data:
        raise UnreadableUpload(UploadProblem.BINARY)  # a spreadsheet or an image, not text
    else:
        encoding = "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise UnreadableUpload(UploadProblem.ENCODING) from None
    if "\x00" in text:
        raise UnreadableUpload(UploadProblem.BINARY)
    return text


def parse(text: str) -> list[tuple[int, str]]:
    """Rows of CSV (comma, semicolon or tab) or plain lines; the number's column chosen."""
    lines = text.splitlines()
    delimiter = _delimiter(lines[0] if lines else "")
    try:
        rows = list(enumerate(csv.reader(lines, delimiter=delimiter), start=1))
    except csv.Error:  # a line longer than any CSV field, a stray quote at the end
        raise UnreadableUpload(UploadProblem.BINARY) from None
    rows = [(number, row) for number, row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return []
    column, header = _column(rows[0][1])
    if header:
        rows = rows[1:]
    return [(number, row[column].strip() if column < len(row) else "") for number, row in rows]


def _delimiter(first: str) -> str:
    for candidate in (",", ";", "\t"):
        if candidate in first:
            return candidate
    return ","


def _column(first: list[str]) -> tuple[int, bool]:
    """The number's column, and whether the first row is a header."""
    for index, cell in enumerate(first):
        if fold(cell.strip().lower()) in PHONE_HEADERS:
            return index, True
    has_digit = any(ch.isdigit() for ch in "".join(first))
    return 0, not has_digit
