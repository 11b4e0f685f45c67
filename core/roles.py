"""Staff roles: the area each is tied to and what each may do (least privilege).

Circular part 2, item 2: no municipality reaches another municipality's data; a qaimaqam sees
the municipalities of the district, a governor the governorate only.
"""

from __future__ import annotations

from enum import StrEnum

from core.geography import AreaLevel


class Role(StrEnum):
    """A staff member's role; stored by this readable value."""

    FOCAL_POINT = "focal_point"  # a municipality's focal point: links, assisted forms
    MUKHTAR = "mukhtar"  # helps the municipality fill forms
    VOLUNTEER = "volunteer"  # civil society helping the municipality
    QAIMAQAM = "qaimaqam"  # a district: reads; decisions and information SMS for it
    GOVERNOR = "governor"  # a governorate: reads; decisions and information SMS for it
    MINISTRY = "ministry"  # national reports; circulars, information SMS, home visits
    HEALTH_MINISTRY = "health_ministry"  # national: case reports in full, circulars
    INSPECTOR = "inspector"  # central inspection: national, read-only, audit trail
    AGENT = "agent"  # 1766 complaint room: calls, complaints, correction requests
    COMMITTEE = "committee"  # the technical committee: decides corrections
    ARMY = "army"  # distribution: final lists and handovers
    ADMIN = "admin"  # accounts and reference data; no family's data


class Permission(StrEnum):
    """One thing a role may do; views and queries ask for exactly one."""

    VIEW_APPLICATIONS = "view_applications"  # read families' records in the area
    ENTER_APPLICATIONS = "enter_applications"  # fill forms on a caller's behalf
    SEND_LINKS = "send_links"  # send one-time form links by SMS
    VIEW_MESSAGES = "view_messages"  # read the SMS and call log of the area
    VIEW_REPORTS = "view_reports"  # dashboards and counts of the area
    VIEW_AUDIT = "view_audit"  # read the audit trail
    VIEW_COMPLAINTS = "view_complaints"  # read the complaints of the area (misconduct aside)
    HANDLE_COMPLAINTS = "handle_complaints"  # take calls, log complaints and corrections
    DECIDE_CORRECTIONS = "decide_corrections"  # approve or reject corrections
    DECIDE_DISPUTES = "decide_disputes"  # decide a distribution dispute: confirm or revoke
    VIEW_LISTS = "view_lists"  # read beneficiary lists of the area
    RECORD_HANDOVERS = "record_handovers"  # record a handover or refusal
    MANAGE_USERS = "manage_users"  # create and disable staff accounts
    REPORT_CASES = "report_cases"  # file COVID-19 cases, follow-ups and quarantine centres
    VIEW_CASE_DETAILS = "view_case_details"  # a case's personal fields (phone, notes)
    RECORD_DECISIONS = "record_decisions"  # record the municipality's decisions
    PUBLISH_CIRCULARS = "publish_circulars"  # publish a ministry's circular to everyone
    FILE_NEEDS = "file_needs"  # file the municipality's weekly report of needs
    REQUEST_ACCOUNTS = "request_accounts"  # ask the admin for more accounts of the municipality
    SEND_BROADCASTS = "send_broadcasts"  # write information SMS to the residents of the area
    FLAG_APPLICATIONS = "flag_applications"  # flag an application's data for the focal point
    REVIEW_FLAGS = "review_flags"  # confirm a flag to the committee, or clear it
    HOME_VISITS = "home_visits"  # draw samples of applications and record home visits
    VIEW_STAFF_WORK = "view_staff_work"  # follow each account's daily work in the area
    RECORD_DONATIONS = "record_donations"  # record donations received and allocate them
    VIEW_DONATIONS = "view_donations"  # read the donations, allocations and balances of the area
    APPROVE_LISTS = "approve_lists"  # approve a published list for the army (two members)


P = Permission
_MUNICIPAL = frozenset({P.VIEW_APPLICATIONS, P.ENTER_APPLICATIONS, P.SEND_LINKS, P.VIEW_MESSAGES})
_AREA_READ = frozenset({P.VIEW_APPLICATIONS, P.VIEW_MESSAGES, P.VIEW_REPORTS, P.VIEW_COMPLAINTS})

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # The municipality's own health, decisions and needs modules are the focal point's alone.
    Role.FOCAL_POINT: _MUNICIPAL
    | {
        P.VIEW_REPORTS,
        P.VIEW_COMPLAINTS,
        P.REPORT_CASES,
        P.VIEW_CASE_DETAILS,
        P.RECORD_DECISIONS,
        P.FILE_NEEDS,
        P.REQUEST_ACCOUNTS,
        P.SEND_BROADCASTS,
        P.REVIEW_FLAGS,
        P.VIEW_STAFF_WORK,
        P.RECORD_DONATIONS,
        P.VIEW_DONATIONS,
    },
    # Circular §4.2b, §4.4b: mukhtars and civil society flag what looks wrong; the focal
    # point decides what reaches the committee.
    Role.MUKHTAR: _MUNICIPAL | {P.FLAG_APPLICATIONS},
    Role.VOLUNTEER: _MUNICIPAL | {P.FLAG_APPLICATIONS},
    # Circular §3.3: qaimaqams and governors issue decisions for their area, and tell its
    # residents by SMS (§4.1b); otherwise they read.
    Role.QAIMAQAM: _AREA_READ
    | {P.RECORD_DECISIONS, P.SEND_BROADCASTS, P.VIEW_STAFF_WORK, P.VIEW_DONATIONS},
    Role.GOVERNOR: _AREA_READ
    | {P.RECORD_DECISIONS, P.SEND_BROADCASTS, P.VIEW_STAFF_WORK, P.VIEW_DONATIONS},
    # The social affairs ministry also checks entered data by home visits (§5.4b) and
    # follows each account's work.
    Role.MINISTRY: _AREA_READ
    | {
        P.VIEW_LISTS,
        P.PUBLISH_CIRCULARS,
        P.SEND_BROADCASTS,
        P.HOME_VISITS,
        P.VIEW_STAFF_WORK,
        P.RECORD_DONATIONS,
        P.VIEW_DONATIONS,
    },
    # The health ministry follows cases in full, and nothing of families' social records.
    Role.HEALTH_MINISTRY: frozenset({P.VIEW_REPORTS, P.VIEW_CASE_DETAILS, P.PUBLISH_CIRCULARS}),
    Role.INSPECTOR: _AREA_READ | {P.VIEW_AUDIT, P.VIEW_LISTS, P.VIEW_STAFF_WORK, P.VIEW_DONATIONS},
    Role.AGENT: frozenset(
        {P.VIEW_APPLICATIONS, P.VIEW_MESSAGES, P.VIEW_COMPLAINTS, P.HANDLE_COMPLAINTS}
    ),
    # The committee also supervises the room: it sees the overdue tickets. It hands the final
    # list to the army (§6): it reads the lists and approves them, two members each.
    Role.COMMITTEE: frozenset(
        {
            P.VIEW_APPLICATIONS,
            P.VIEW_MESSAGES,
            P.VIEW_COMPLAINTS,
            P.DECIDE_CORRECTIONS,
            P.DECIDE_DISPUTES,  # a distribution dispute: the voucher stands or is revoked
            P.VIEW_LISTS,
            P.APPROVE_LISTS,
            P.VIEW_DONATIONS,
        }
    ),
    Role.ARMY: frozenset({P.VIEW_LISTS, P.RECORD_HANDOVERS}),
    Role.ADMIN: frozenset({P.MANAGE_USERS}),
}

# The level of area each role's account is tied to; the army may be posted at any level.
AREA_LEVELS: dict[Role, frozenset[AreaLevel]] = {
    Role.FOCAL_POINT: frozenset({AreaLevel.LOCALITY}),
    Role.MUKHTAR: frozenset({AreaLevel.LOCALITY}),
    Role.VOLUNTEER: frozenset({AreaLevel.LOCALITY}),
    Role.QAIMAQAM: frozenset({AreaLevel.DISTRICT}),
    Role.GOVERNOR: frozenset({AreaLevel.GOVERNORATE}),
    Role.MINISTRY: frozenset({AreaLevel.NATIONAL}),
    Role.HEALTH_MINISTRY: frozenset({AreaLevel.NATIONAL}),
    Role.INSPECTOR: frozenset({AreaLevel.NATIONAL}),
    Role.AGENT: frozenset({AreaLevel.NATIONAL}),
    Role.COMMITTEE: frozenset({AreaLevel.NATIONAL}),
    Role.ARMY: frozenset(AreaLevel),
    Role.ADMIN: frozenset({AreaLevel.NATIONAL}),
}


def parse_role(value: str) -> Role:
    """The role a string names; raises ValueError listing the valid roles."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        valid = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {value!r} (one of: {valid})") from None


def can(role: Role, permission: Permission) -> bool:
    return permission in PERMISSIONS[role]
