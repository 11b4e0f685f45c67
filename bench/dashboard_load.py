# ruff: noqa: S608
# (SQL built from this file's own constants: no outside input reaches it.)
"""A national round in PostgreSQL in a few minutes: what `bench.dashboard` measures against.

One million applications spread over Lebanon's 1,545 localities (a seeded, skewed weight per
locality, so a few towns are large and most are small, as in the 2020 round), and around
them in plausible proportions: a form link per application and 250,000 links that were not
used (opened only, started only, never opened), a correction link per hundred applications,
the link SMS and acknowledgements with their delivery states, inbound SMS, 60,000 tickets,
300,000 calls to 1766 (which know no municipality), 20,000 case reports, 6,000 municipal
decisions and 40 circulars, and four weeks of needs reports.

Rows are made by the database itself (`INSERT … SELECT … FROM generate_series`), which is why
this file holds SQL text: it is a PostgreSQL bulk loader for a benchmark, not a path of the
service. Times are spread over the last 14 days, so the daily charts have a full window.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta

import numpy as np
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from core.db import utcnow
from core.geography import load_localities, parse_locality_csv
from core.programme import set_window
from tests.support.households import cleaned

APPLICATIONS = 1_000_000
OPENED_ONLY = 150_000  # links opened and left
STARTED_ONLY = 50_000  # links whose first pages were saved, never submitted
NEVER_OPENED = 50_000
LINKS = APPLICATIONS + OPENED_ONLY + STARTED_ONLY + NEVER_OPENED
CORRECTION_LINKS = APPLICATIONS // 100
TICKETS = 60_000
CALLS = 300_000
CASES = 20_000
DECISIONS = 6_000
CIRCULARS = 40
SLOTS = 10_000  # each application falls in a slot; localities own slots by weight
WINDOW_SECONDS = 14 * 24 * 3600

# The channel of link (and application) number i, from i % 10: 10 % assisted, 20 % asked from
# 1766, the rest texted by a municipality.
_CHANNEL = "CASE i % 10 WHEN 0 THEN 'assisted' WHEN 1 THEN 'hotline' WHEN 2 THEN 'hotline' ELSE 'sms_link' END"


def _moment(total: int | str) -> str:
    """Row i of `total` at its moment in the last 14 days, in the order rows were written (as
    in a real store, where ids grow with time); an hour of margin keeps follow-ups past."""
    return (
        "CAST(:now AS timestamptz) - interval '1 hour' "
        f"- (:window * (1.0 - i / CAST({total} AS float))) * interval '1 second'"
    )


def load(engine: Engine, localities: bytes) -> dict[str, int]:
    """Fill a migrated, empty store; returns how many rows of each kind were written."""
    with Session(engine) as session:
        load_localities(session, parse_locality_csv(localities))
        now = utcnow()
        programme = set_window(session, now - timedelta(days=15), now + timedelta(days=1), "bench")
        _slots(session)
        indexes = _drop_indexes(session)
        params = {"now": now, "window": WINDOW_SECONDS, "programme": programme.id}
        params["data"] = application_data()
        for statement in STATEMENTS:
            started = time.perf_counter()
            session.execute(text(statement), params)
            what = statement.split()[2] if statement.lstrip().startswith("INSERT") else "sequences"
            print(f"  {what}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
        session.execute(text("DROP TABLE bench_slots"))
        _create_indexes(session, indexes)
        session.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    with engine.connect() as conn:
        tables = ("applications", "links", "messages", "tickets", "calls", "case_reports")
        tables += ("decisions", "needs_reports")
        return {t: int(conn.scalar(text(f"SELECT count(*) FROM {t}")) or 0) for t in tables}


LOADED = ("applications", "links", "messages", "tickets", "calls", "case_reports", "decisions")


def _drop_indexes(session: Session) -> list[str]:
    """Drop the loaded tables' plain indexes, returning their definitions: building an index
    once over sorted rows is several times faster than growing it row by row."""
    rows = session.execute(
        text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename = ANY(:tables) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        ),
        {"tables": list(LOADED)},
    ).all()
    for name, _definition in rows:
        session.execute(text(f'DROP INDEX "{name}"'))
    return [definition for _name, definition in rows]


def _create_indexes(session: Session, definitions: list[str]) -> None:
    started = time.perf_counter()
    session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    for definition in definitions:
        session.execute(text(definition))
    print(f"  indexes: {time.perf_counter() - started:.1f} s", file=sys.stderr)


def _slots(session: Session) -> None:
    """`bench_slots`: SLOTS rows, each a locality, in proportion to a skewed seeded weight."""
    rows = session.execute(
        text("SELECT code, district_code, governorate_code FROM localities ORDER BY code")
    ).all()
    weights = np.random.default_rng(1766).lognormal(0.0, 1.2, len(rows))
    shares = np.maximum(1, np.floor(weights / weights.sum() * SLOTS)).astype(int)
    while shares.sum() > SLOTS:
        shares[int(np.argmax(shares))] -= 1
    shares[int(np.argmax(weights))] += SLOTS - int(shares.sum())
    session.execute(
        text(
            "CREATE TEMP TABLE bench_slots (slot int PRIMARY KEY, locality text, "
            "district text, governorate text)"
        )
    )
    values, slot = [], 0
    for (code, district, governorate), share in zip(rows, shares, strict=True):
        for _ in range(int(share)):
            values.append({"s": slot, "l": code, "d": district, "g": governorate})
            slot += 1
    session.execute(text("INSERT INTO bench_slots VALUES (:s, :l, :d, :g)"), values)


def _area(alias: str = "s", hotline_none: bool = False) -> str:
    if not hotline_none:
        return f"{alias}.governorate, {alias}.district, {alias}.locality"
    return ", ".join(
        f"CASE WHEN ch = 'hotline' THEN NULL ELSE {alias}.{c} END"
        for c in ("governorate", "district", "locality")
    )


_BEIRUT_DAY = "CAST(({}) AT TIME ZONE 'Asia/Beirut' AS date)"

# Link j, written in time order: (j - 1) % 25 below 20 was used (a million), 20-22 opened and
# left, 23 started and left, 24 never opened. Application i is the i-th used link.
_LINK_OF_APPLICATION = "((i - 1) / 20) * 25 + (i - 1) % 20 + 1"

_LINKS = f"""
INSERT INTO links (id, token_hash, channel, programme_id, phone, language, draft, created_at,
    created_on, expires_at, opened_at, started_at, used_at, governorate_code, district_code,
    locality_code)
SELECT j, lpad(j::text, 64, '0'), ch, :programme,
    CASE WHEN ch = 'assisted' THEN NULL ELSE '+9617' || lpad((j % 10000000)::text, 7, '0') END,
    'ar', '{{}}', c, {_BEIRUT_DAY.format("c")}, c + interval '7 days',
    CASE WHEN ch <> 'assisted' AND k < 24 THEN c + interval '10 minutes' END,
    CASE WHEN k < 20 OR k = 23 THEN c + interval '12 minutes' END,
    CASE WHEN k < 20 THEN c + interval '30 minutes' END,
    {_area(hotline_none=True)}
FROM (SELECT i AS j, (i - 1) % 25 AS k, {_CHANNEL} AS ch, {_moment(LINKS)} AS c,
             (i * 37) % {SLOTS} AS slot
      FROM generate_series(1, {LINKS}) AS i) AS g
JOIN bench_slots AS s ON s.slot = g.slot
"""

_CORRECTION_LINKS = f"""
INSERT INTO links (id, token_hash, channel, programme_id, phone, language, draft, created_at,
    created_on, expires_at, application_id, governorate_code, district_code, locality_code)
SELECT {LINKS} + i, lpad(({LINKS} + i)::text, 64, '0'), 'correction', :programme, '+9613' || lpad(i::text, 6, '0'),
    'ar', '{{}}', {_moment(CORRECTION_LINKS)}, {_BEIRUT_DAY.format(_moment(CORRECTION_LINKS))},
    {_moment(CORRECTION_LINKS)} + interval '7 days',
    i * 100, {_area()}
FROM generate_series(1, {CORRECTION_LINKS}) AS i
JOIN bench_slots AS s ON s.slot = (i * 100 * 37) % {SLOTS}
"""

_APPLICATIONS = f"""
INSERT INTO applications (id, reference, programme_id, link_id, channel, phone, language,
    status, reason, version, data, submitted_at, submitted_on, governorate_code, district_code,
    locality_code)
SELECT i, lpad(i::text, 10, '0'), :programme, l.id, l.channel,
    COALESCE(l.phone, '+9613' || lpad(i::text, 7, '0')),
    'ar', CASE WHEN i % 50 < 4 THEN 'ineligible' WHEN i % 50 = 4 THEN 'needs_review'
               ELSE 'received' END,
    CASE WHEN i % 50 < 4 THEN 'public_sector' WHEN i % 50 = 4 THEN 'member_overlap' END,
    1, :data, l.used_at, {_BEIRUT_DAY.format("l.used_at")}, s.governorate, s.district, s.locality
FROM generate_series(1, {APPLICATIONS}) AS i
JOIN links AS l ON l.id = {_LINK_OF_APPLICATION}
JOIN bench_slots AS s ON s.slot = (l.id * 37) % {SLOTS}
ORDER BY i
"""

# Delivery states of the acknowledgements, by i % 100: most delivered, a few still on their way.
_RECEIPT_STATUS = """CASE WHEN i % 100 < 92 THEN 'delivered' WHEN i % 100 < 95 THEN 'sent'
    WHEN i % 100 < 97 THEN 'undelivered' WHEN i % 100 = 97 THEN 'failed'
    WHEN i % 100 = 98 THEN 'queued' ELSE 'pending' END"""

_RECEIPTS = f"""
INSERT INTO messages (direction, phone, body, language, purpose, status, provider_sid,
    segments, attempts, created_at, updated_at, governorate_code, district_code, locality_code)
SELECT 'outbound', phone, '1766: your form was received. Reference ' || reference || '. Keep this SMS.',
    'ar', 'receipt', {_RECEIPT_STATUS.replace("i %", "id %")},
    CASE WHEN id % 100 < 98 THEN 'SMr' || lpad(id::text, 10, '0') END, 1, 1, submitted_at, submitted_at,
    governorate_code, district_code, locality_code
FROM applications
"""

_LINK_SMS = """
INSERT INTO messages (direction, phone, body, language, purpose, status, provider_sid,
    segments, attempts, created_at, updated_at, governorate_code, district_code, locality_code)
SELECT 'outbound', phone, 'Municipality: fill the assistance form once, here: https://1766.example/f/x',
    'ar', 'form_link', CASE WHEN id % 100 < 95 THEN 'delivered' ELSE 'sent' END,
    'SMl' || lpad(id::text, 10, '0'),
    1, 1, created_at, created_at, governorate_code, district_code, locality_code
FROM links WHERE channel IN ('sms_link', 'hotline')
"""

_INBOUND = f"""
INSERT INTO messages (direction, phone, body, language, purpose, status, provider_sid,
    segments, attempts, created_at, updated_at)
SELECT 'inbound', '+9617' || lpad(i::text, 7, '0'), 'LINK', 'ar', 'link', 'received',
    'SMi' || lpad(i::text, 10, '0'), 1, 0, {_moment(50_000)}, {_moment(50_000)}
FROM generate_series(1, 50000) AS i
"""

_TICKETS = f"""
INSERT INTO tickets (number, kind, category, channel, phone, language, status, created_at,
    application_id, due_at, closed_at, governorate_code, district_code, locality_code)
SELECT lpad((10000000 + i)::text, 8, '0'), 'complaint',
    (ARRAY['information', 'correction', 'eligibility', 'misconduct', 'distribution',
           'no_local_office', 'other'])[1 + i % 7],
    'ivr', a.phone, 'ar',
    CASE WHEN i % 20 < 4 THEN 'open' WHEN i % 20 < 6 THEN 'in_progress' WHEN i % 20 = 6
         THEN 'rejected' WHEN i % 20 = 7 THEN 'referred' ELSE 'resolved' END,
    c, CASE WHEN i % 10 > 0 THEN a.id END, c + interval '3 days',
    CASE WHEN i % 20 >= 6 THEN c + interval '2 days' END,
    CASE WHEN i % 10 > 0 THEN a.governorate_code END,
    CASE WHEN i % 10 > 0 THEN a.district_code END,
    CASE WHEN i % 10 > 0 THEN a.locality_code END
FROM (SELECT i, {_moment(TICKETS)} AS c FROM generate_series(1, {TICKETS}) AS i) AS g
JOIN applications AS a ON a.id = i * 16
"""

# Calls: 70 % completed (40 % of them after waiting for an agent), 10 % abandoned in the queue,
# 5 % failed, a few still waiting, the rest ended in the voice menu.
_CALLS = f"""
INSERT INTO calls (call_sid, direction, phone, language, status, started_at, queued_at,
    answered_at, ended_at, duration_seconds)
SELECT 'CA' || i, 'inbound', '+9617' || lpad(i::text, 7, '0'), 'ar',
    CASE WHEN i % 100 < 70 THEN 'completed' WHEN i % 100 < 80 THEN 'abandoned'
         WHEN i % 100 < 85 THEN 'failed' WHEN i % 100 = 85 THEN 'queued' ELSE 'completed' END,
    c,
    CASE WHEN i % 100 < 28 OR i % 100 >= 70 AND i % 100 < 80 OR i % 100 = 85
         THEN c + interval '40 seconds' END,
    CASE WHEN i % 100 < 28 THEN c + interval '40 seconds' + ((i * 13) % 600) * interval '1 second' END,
    CASE WHEN i % 100 <> 85 THEN c + interval '15 minutes' END,
    CASE WHEN i % 100 <> 85 THEN 900 END
FROM (SELECT i, {_moment(CALLS)} AS c FROM generate_series(1, {CALLS}) AS i) AS g
"""

_CASES = f"""
INSERT INTO case_reports (number, classification, resident_group, age_band, sex,
    isolation_place, status, outcome, reported_on, reported_at, closed_at,
    governorate_code, district_code, locality_code)
SELECT lpad(i::text, 10, '0'), CASE WHEN i % 5 < 3 THEN 'confirmed' ELSE 'suspected' END,
    (ARRAY['lebanese', 'displaced_syrian', 'palestine_refugee', 'other'])[1 + i % 4],
    (ARRAY['0-9', '10-19', '20-39', '40-59', '60-69', '70+'])[1 + i % 6],
    CASE WHEN i % 2 = 0 THEN 'female' ELSE 'male' END,
    (ARRAY['home', 'quarantine_centre', 'hospital'])[1 + i % 3],
    CASE WHEN i % 5 < 2 THEN 'active' ELSE 'closed' END,
    CASE WHEN i % 5 >= 2 THEN 'recovered' END, CAST(c AS date), c,
    CASE WHEN i % 5 >= 2 THEN c + interval '10 days' END,
    {_area()}
FROM (SELECT i, {_moment(CASES)} AS c, (i * 37) % {SLOTS} AS slot
      FROM generate_series(1, {CASES}) AS i) AS g
JOIN bench_slots AS s ON s.slot = g.slot
"""

_DECISIONS = f"""
INSERT INTO decisions (kind, category, title, text, effective_from, effective_until, issuer,
    created_at, governorate_code, district_code, locality_code)
SELECT 'municipal', (ARRAY['curfew', 'closure', 'aid', 'quarantine', 'other'])[1 + i % 5],
    'Decision ' || i, 'The municipal council decided.', CAST(c AS date) - 3,
    CASE WHEN i % 3 = 0 THEN CAST(c AS date) + 7 END, 'Municipality', c, {_area()}
FROM (SELECT i, {_moment(DECISIONS)} AS c, (i * 37) % {SLOTS} AS slot
      FROM generate_series(1, {DECISIONS}) AS i) AS g
JOIN bench_slots AS s ON s.slot = g.slot
UNION ALL
SELECT 'circular', 'other', 'Circular ' || i, 'The ministry circulates.', CAST(:now AS date) - i,
    NULL, 'Ministry', CAST(:now AS timestamptz) - i * interval '1 day', NULL, NULL, NULL
FROM generate_series(1, {CIRCULARS}) AS i
"""

# Four weeks of needs: four municipalities in five file each week.
_NEEDS = """
INSERT INTO needs_reports (week_start, food_parcels, hygiene_kits, quarantine_needs,
    other_needs, filed_at, updated_at, governorate_code, district_code, locality_code)
SELECT w.week_start, 20 + (n * 7) % 400, 10 + (n * 3) % 150, '', '', w.week_start + 2,
    w.week_start + 2, l.governorate_code, l.district_code, l.code
FROM (SELECT code, district_code, governorate_code, row_number() OVER (ORDER BY code) AS n
      FROM localities) AS l
CROSS JOIN (SELECT CAST(date_trunc('week', CAST(:now AS timestamptz) AT TIME ZONE 'Asia/Beirut')
                        AS date) - 7 * k AS week_start
            FROM generate_series(0, 3) AS k) AS w
WHERE n % 5 <> 0
"""

STATEMENTS = (
    _LINKS,
    _CORRECTION_LINKS,
    _APPLICATIONS,
    _RECEIPTS,
    _LINK_SMS,
    _INBOUND,
    _TICKETS,
    _CALLS,
    _CASES,
    _DECISIONS,
    _NEEDS,
    "SELECT setval(pg_get_serial_sequence('links', 'id'), (SELECT max(id) FROM links))",
    "SELECT setval(pg_get_serial_sequence('applications', 'id'), (SELECT max(id) FROM applications))",
)


def application_data() -> str:
    """A real family's form as stored (about 1.2 KB of JSON), so rows have their real width."""
    return json.dumps(cleaned(1), ensure_ascii=False, sort_keys=True)
