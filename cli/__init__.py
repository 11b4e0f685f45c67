"""The operators' CLI: `flask --app wsgi <group> <command>`; every command has `--help`."""

from __future__ import annotations

from flask import Flask

from cli import (
    account_admin,
    accounts,
    audit,
    backup,
    complaints,
    demo,
    jobs,
    lists,
    messaging,
    needs,
    reconcile,
    scoring,
    second_factor,
    store,
    territory,
    vouchers,
)


def register_commands(app: Flask) -> None:
    messaging.sms_group.add_command(reconcile.sms_reconcile)
    for command in account_admin.COMMANDS:
        accounts.users_group.add_command(command)
    accounts.users_group.add_command(second_factor.users_reset_second_factor)
    for group in (
        store.db_group,
        territory.geo_group,
        accounts.users_group,
        store.programme_group,
        audit.audit_group,
        messaging.sms_group,
        jobs.jobs_group,
        complaints.tickets_group,
        scoring.scoring_group,
        lists.lists_group,
        vouchers.vouchers_group,
        needs.needs_group,
    ):
        app.cli.add_command(group)
    app.cli.add_command(demo.demo_command)
    app.cli.add_command(store.housekeeping_command)
    app.cli.add_command(backup.backup_command)
    app.cli.add_command(backup.restore_command)
