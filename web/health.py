"""`GET /healthz`: store and queue state for load balancers and operators."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from web import store

bp = Blueprint("health", __name__)


@bp.get("/livez")
def livez() -> ResponseReturnValue:
    """Liveness only: the process answers (no store, no queue). Load balancers' cheapest probe."""
    return "ok", 200, {"Content-Type": "text/plain"}


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 while the store answers (the queue may be down: the store keeps what is owed)."""
    try:
        store.db().execute(select(1))
        store_state = "ok"
    except SQLAlchemyError:
        store_state = "down"
    queue_state = current_app.extensions["intake.jobs"].state()
    status = 200 if store_state == "ok" else 503
    return jsonify(store=store_state, queue=queue_state), status
