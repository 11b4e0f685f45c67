"""The app factory: settings, store, languages, security, and every blueprint, in one place.

It sits above the adapters it registers; the shared pages, catalogs and templates live with
`web/`, so the app is rooted there.
"""

from __future__ import annotations

import copy
import functools
import logging
from datetime import timedelta
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask, request
from flask_wtf.csrf import CSRFProtect
from redis import Redis
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

import web
from assembly.jobs import JOBS
from assembly.settings import load_settings
from core.audit_key import use_key_file
from core.db import make_engine, make_sessionmaker
from core.queue import JobContext, JobRunner, make_runner, use_job_context
from core.settings import Environment, Settings, SettingsError
from web import auth, errors, health, i18n, overload, params, second_factor, store

WEB_ROOT = str(Path(web.__file__).resolve().parent)  # templates, translations
MAX_REQUEST_BYTES = 1024 * 1024  # a household form is a few KB; nothing legitimate is larger
HSTS_MAX_AGE = 365 * 24 * 3600  # a year: what browsers' preload lists ask for

csrf = CSRFProtect()


def create_app(
    settings: Settings | None = None, session_factory: sessionmaker[Session] | None = None
) -> Flask:
    """Build the service; tests pass their own settings and (optionally) their own store."""
    settings = settings or load_settings()
    app = Flask(__name__, root_path=WEB_ROOT)
    _configure(app, settings)
    params.init_params(app)  # before any route: `int` in every address is bounded
    factory = session_factory or make_sessionmaker(make_engine(settings.database_url))
    store.init_store(app, factory)
    overload.init_overload(app)  # first of the request hooks: a shed request runs no other
    use_job_context(JobContext(settings, factory))  # inline jobs use this app's store
    use_key_file(settings.audit_key_file)  # every audited action is keyed with it
    # With Redis, requests leave owed SMS and scores to the relay (`jobs relay`, core/relay.py).
    runner: JobRunner = make_runner(settings.redis_url, JOBS, relayed=True)
    app.extensions["intake.jobs"] = runner
    app.extensions["intake.job_table"] = JOBS  # for the CLI's own runners (`jobs relay`)
    csrf.init_app(app)
    i18n.init_i18n(app)
    auth.init_auth(app)
    second_factor.init_second_factor(app)  # its gate after the pledge's
    errors.init_errors(app)
    app.register_blueprint(health.bp)
    _register_adapters(app)
    app.after_request(_security_headers)
    if settings.environment is Environment.PRODUCTION:
        app.after_request(_strict_transport_security)
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops
        )
    return app


def create_help_app(problem: SettingsError) -> Flask:
    """An app that can only print the operators' CLI help, for when the settings are bad.

    `flask --app wsgi <command> --help` loads the app to find the command, so help needs an
    app; this one has every command and nothing that reads a setting. A command that would
    run anyway stops with `problem`, as the service would have at start.
    """
    from cli import register_commands

    app = Flask(__name__, root_path=WEB_ROOT)
    register_commands(app)
    app.cli.commands = {name: _help_only(c, problem) for name, c in app.cli.commands.items()}
    return app


def _help_only(command: click.Command, problem: SettingsError) -> click.Command:
    """A copy of `command` and its subcommands that prints its help but runs nothing."""
    clone = copy.copy(command)  # a copy: the command objects are shared by every app
    if isinstance(command, click.Group):
        clone.commands = {name: _help_only(c, problem) for name, c in command.commands.items()}
    else:
        clone.callback = functools.partial(_cannot_start, problem)
    return clone


def _cannot_start(problem: SettingsError, **_params: object) -> NoReturn:
    click.echo(f"1766 Intake cannot start: {problem}", err=True)
    raise SystemExit(2)


def _configure(app: Flask, settings: Settings) -> None:
    app.config.update(
        SECRET_KEY=settings.secret_key,
        INTAKE_SETTINGS=settings,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        SESSION_COOKIE_NAME="intake_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        # The token (with SameSite cookies) is the defence; a Referer check would refuse every
        # form, since pages send no referrer and proxy browsers on cheap phones strip it.
        WTF_CSRF_SSL_STRICT=False,
        PREFERRED_URL_SCHEME="https" if settings.secure_cookies else "http",
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _register_adapters(app: Flask) -> None:
    from cli import register_commands
    from hotline.console import bp as hotline_bp
    from ivr.voice import bp as ivr_bp
    from sms.http_webhooks import bp as sms_http_bp
    from sms.inbound import bp as sms_inbound_bp
    from sms.inbound import init_buffer
    from sms.status_callback import bp as sms_bp
    from webforms.account_requests import bp as account_requests_bp
    from webforms.blank_form import bp as blank_form_bp
    from webforms.broadcasts import bp as broadcasts_bp
    from webforms.bulk_links import bp as bulk_links_bp
    from webforms.cases import bp as cases_bp
    from webforms.citizen import bp as citizen_bp
    from webforms.console import bp as console_bp
    from webforms.dashboard import bp as dashboard_bp
    from webforms.decisions import bp as decisions_bp
    from webforms.donations import bp as donations_bp
    from webforms.flags import bp as flags_bp
    from webforms.handover import bp as handover_bp
    from webforms.handover_team import bp as handover_team_bp
    from webforms.help import bp as help_bp
    from webforms.home_visits import bp as visits_bp
    from webforms.inspection import bp as inspection_bp
    from webforms.list_approval import bp as list_approval_bp
    from webforms.needs import bp as needs_bp
    from webforms.set_password import bp as set_password_bp
    from webforms.staff_accounts import bp as staff_accounts_bp
    from webforms.staff_import import bp as staff_import_bp
    from webforms.staff_work import bp as staff_work_bp
    from webforms.status_page import bp as status_bp

    app.register_blueprint(console_bp)
    app.register_blueprint(bulk_links_bp)  # /console/links/bulk: links to many numbers
    app.register_blueprint(blank_form_bp)  # /console/forms/blank: the form on paper
    app.register_blueprint(inspection_bp)
    app.register_blueprint(handover_bp)  # lists, vouchers, handovers; the public key
    app.register_blueprint(handover_team_bp)  # mukhtars and volunteers assisting the army
    app.register_blueprint(list_approval_bp)  # the committee approves a list (two members)
    app.register_blueprint(dashboard_bp)  # dashboards of each level, SVG and CSV
    app.register_blueprint(cases_bp)  # case reports, follow-ups, quarantine centres
    app.register_blueprint(decisions_bp)  # municipal decisions; ministries' circulars
    app.register_blueprint(broadcasts_bp)  # information SMS to the residents of an area
    app.register_blueprint(needs_bp)  # weekly needs
    app.register_blueprint(donations_bp)  # donations, their allocations and balances
    app.register_blueprint(flags_bp)  # flags on forms: mukhtars raise, focal points review
    app.register_blueprint(visits_bp)  # /console/visits: samples for home visits, results
    app.register_blueprint(staff_accounts_bp)  # /console/users: the admin's staff accounts
    app.register_blueprint(staff_import_bp)  # /console/users/import: many accounts from a CSV
    app.register_blueprint(account_requests_bp)  # focal points ask for accounts, admin decides
    app.register_blueprint(set_password_bp)  # /console/set-password/<token>: one-time links
    app.register_blueprint(help_bp)  # /help: support numbers and a guide per role, for everyone
    app.register_blueprint(staff_work_bp)  # /console/staff-work: each account's work per day
    app.register_blueprint(hotline_bp)
    app.register_blueprint(citizen_bp)
    csrf.exempt(citizen_bp)  # the unguessable token in the URL is the form's credential
    app.register_blueprint(status_bp)  # /status: a family's status, opened by an SMS code
    csrf.exempt(status_bp)  # public, no session: the code sent by SMS is the credential
    app.register_blueprint(sms_bp)
    csrf.exempt(sms_bp)  # Twilio's webhooks are authenticated by their signature instead
    app.register_blueprint(sms_http_bp)  # the aggregator's reports and SMS, by its secret
    csrf.exempt(sms_http_bp)
    init_buffer(app, app.config["INTAKE_SETTINGS"])
    for twilio_bp in (sms_inbound_bp, ivr_bp):
        app.register_blueprint(twilio_bp)
        csrf.exempt(twilio_bp)
    _guard_entries(app, app.config["INTAKE_SETTINGS"])
    from ivr.stale import StaleSteps

    app.wsgi_app = StaleSteps(  # type: ignore[method-assign]
        app.wsgi_app, app, app.config["INTAKE_SETTINGS"].max_queue_seconds
    )
    if app.config["INTAKE_SETTINGS"].is_development:
        from phone.simulator import bp as simulator_bp

        app.register_blueprint(simulator_bp)  # /dev/phone: never in production
    register_commands(app)


# Every staff-facing blueprint: one limit for them all, the plain busy page past it.
CONSOLE_BLUEPRINTS = (
    "auth", "console", "inspection", "handover", "dashboard", "cases", "decisions", "needs",
    "donations",
    "hotline", "second_factor", "bulk_links", "staff_work", "blank_form",
    "handover_team", "list_approval",
)  # fmt: skip


def _guard_entries(app: Flask, settings: Settings) -> None:
    """Each entry's limit and busy answer (web/overload.py); the queues /healthz reports."""
    from ivr import busy as ivr_busy
    from sms.buffer import SmsBuffer
    from webforms.citizen import busy as form_busy

    # The busy message's own key, and the queue's hold music, are never shed: both are cheap.
    exempt = ("ivr.busy_callback", "ivr.hold")
    overload.guard(app, "ivr", ("ivr",), settings.max_in_flight_ivr, ivr_busy.answer, exempt)
    overload.guard(app, "form", ("citizen", "status"), settings.max_in_flight_form, form_busy)
    overload.guard(
        app, "console", CONSOLE_BLUEPRINTS, settings.max_in_flight_console, overload.console_busy
    )
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=2)
        health.add_backlog(app, "inbound:stream", SmsBuffer(redis, settings.sms_buffer_max).backlog)


def _security_headers(response: Response) -> Response:
    """No external assets, no framing, no referrer (links carry one-time tokens), no caching."""
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    # The access log shows the route, never the path: paths carry one-time tokens.
    rule = request.url_rule.rule if request.url_rule is not None else "-"
    response.headers["X-Route"] = rule
    return response


def _strict_transport_security(response: Response) -> Response:
    """Production is HTTPS only: a browser that has seen the service never tries plain HTTP
    again for a year, so a one-time link cannot be read or redirected on a hostile network."""
    response.headers.setdefault(
        "Strict-Transport-Security", f"max-age={HSTS_MAX_AGE}; includeSubDomains"
    )
    return response
