"""How long a request waited before this process began it, from the load balancer's stamp.

Past capacity, requests queue in front of the workers (the balancer, gunicorn's backlog and
its thread pool's queue); once served, a request that waited longer than its caller will wait
is work for nobody, and a server that keeps doing such work never catches up. The balancer
stamps each request with when it received it (`X-Request-Start`: nginx's
`proxy_set_header X-Request-Start "t=${msec}";`, Heroku's router, HAProxy); a request that
waited more than `MAX_QUEUE_SECONDS` is answered busy at once (web/overload.py, sms/edge.py),
so the queue drains at the speed of a busy answer and the callers still waiting get served.
Without the header nothing is shed this way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from core import clock

HEADER = "HTTP_X_REQUEST_START"  # as WSGI names the header
_STAMP = re.compile(r"\s*(?:t=)?(\d{9,17})(?:\.(\d{1,9}))?\s*")


def waited(environ: Mapping[str, Any]) -> float | None:
    """Seconds since the balancer's stamp, or None without a readable one."""
    stamp = environ.get(HEADER)
    if not stamp:
        return None
    match = _STAMP.fullmatch(stamp)
    if match is None:
        return None
    whole, fraction = match.groups()
    if fraction is not None:  # seconds with a fraction: nginx's ${msec}
        at = float(f"{whole}.{fraction}")
    else:  # a whole number: seconds, milliseconds (Heroku) or microseconds (Apache)
        at = int(whole) / (1e6 if len(whole) >= 16 else 1e3 if len(whole) >= 13 else 1)
    return clock.now().timestamp() - at


def too_old(environ: Mapping[str, Any], limit: float) -> bool:
    """Whether the request waited longer than `limit` seconds (never, when `limit` is 0)."""
    if limit <= 0:
        return False
    age = waited(environ)
    return age is not None and age > limit
