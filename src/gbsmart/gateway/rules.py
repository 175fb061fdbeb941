"""Pure rules of the gateway's message view: who may see which DCC Users' messages, and how a message stands
against its Target Response Time. No I/O; ``gateway.messages`` writes the same rules as SQL.

Visibility: the DCC and the Code Administrator see every User's messages; anyone else sees the messages whose
originator is a DCC User ID of their own organisation (none without one). The same rule decides who may load
an organisation certificate for a User ID (``gateway.certificates``).

TRT (DOMAIN.md section 6): the time that counts is the response the DCC makes: for an accepted on-demand or
future-dated device request the device's response (``completed_at``, what CPM1 and CPM2 measure), for every
other message (Transform, non-device, a refusal answered with an E-code) the synchronous answer
(``answered_at``). Met when that time is at or before ``due_at``; missed when it is after, or when there is
none yet and ``due_at`` has passed; pending otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from gbsmart.gateway.enums import MessageState, TrtClass, TrtOutcome

#: portal roles that see every DCC User's messages and may load certificates for any User ID
OPERATOR_ROLES = frozenset({"dcc", "code_administrator"})
#: TRT classes whose response is the device's (asynchronous) one
DEVICE_RESPONSE_CLASSES = frozenset({TrtClass.ON_DEMAND.value, TrtClass.FUTURE_DATED.value, TrtClass.FIRMWARE.value})


def sees_every_user(roles: Iterable[str]) -> bool:
    """A DCC or Code Administrator operator: every User's messages, certificates for any User ID."""
    return bool(OPERATOR_ROLES.intersection(roles))


def may_act_for_user(roles: Iterable[str], organisation_id: int | None, user_organisation_id: int | None) -> bool:
    """May a person (``roles``, ``organisation_id``) see or act for a DCC User ID held by ``user_organisation_id``."""
    if sees_every_user(roles):
        return True
    return organisation_id is not None and organisation_id == user_organisation_id


def counts_device_response(trt_class: str | None, state: str) -> bool:
    """Does the device's response (``completed_at``), rather than the synchronous answer, meet the TRT?"""
    return trt_class in DEVICE_RESPONSE_CLASSES and state != MessageState.REFUSED.value


def response_time(trt_class: str | None, state: str, answered_at: datetime | None,
                  completed_at: datetime | None) -> datetime | None:
    """The time the DCC's response that the TRT measures was made (None: not yet)."""
    return completed_at if counts_device_response(trt_class, state) else answered_at


def trt_outcome(trt_class: str | None, state: str, answered_at: datetime | None, completed_at: datetime | None,
                due_at: datetime | None, now: datetime) -> TrtOutcome:
    """Met, missed or pending against ``due_at`` at ``now`` (no TRT without a class and a due time)."""
    if trt_class is None or due_at is None:
        return TrtOutcome.NONE
    at = response_time(trt_class, state, answered_at, completed_at)
    if at is None:
        return TrtOutcome.MISSED if now > due_at else TrtOutcome.PENDING
    return TrtOutcome.MET if at <= due_at else TrtOutcome.MISSED
