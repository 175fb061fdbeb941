"""The alert storm benchmark's figures, computed from what the Users' endpoints received and nothing else.

The scenario driver says only what it did: which Communications Hubs lost power when (``Outage``), and when
an endpoint went down and came back. Everything else comes from the endpoints' records (``Received``):

- ``outage_figures``: the AD1 Power Outage Events expected (one per hub, to the Electricity Distributor
  registered for the hub's MPAN), delivered (an AD1 naming the hub received at that User's endpoint), their
  delay after the wait's end (power loss + the wait, "the 3-minute mark"), the share within the deadline
  (60 s), p50 / p99 of the delay, lost (expected, never received), AD1s received at a User not entitled to
  them, sent before the wait ended, with a StartDateTime that is not the power loss's, or an MPxN that is
  not the premises' MPAN.
- ``duplicates``: the same message id received twice at the same endpoint (each copy past the first counts).
- ``return_figures``: after a User's endpoint comes back, the backlog it received (every message arriving
  after the return: the driver stops the storm at the return, so each was made while the endpoint was down),
  the share delivered in priority order (a message is in order when no message of a lower priority class
  arrived before it), the share of AD1s received before any lower-priority message, and how long the backlog
  took to drain.
- ``storm_figures``: device alerts delivered by code, throttle summaries and the alerts they count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from _storm_duis import DCC, DEVICE, GARBAGE
from _storm_endpoints import Received

#: the DUIS Power Outage Event DCC Alert
AD1 = "AD1"
#: an AD1's StartDateTime further than this from the power loss the driver caused is "wrong start"
START_TOLERANCE_S = 1.0


@dataclass(slots=True, frozen=True)
class Outage:
    """A Communications Hub the driver took off power: its Electricity Distributor's User ID, and when."""

    hub: str
    ed_user: str
    lost_at: float  # seconds since the epoch (the occurred_at of its CHPL notice)
    mpan: str = ""  # the premises' MPAN, which the AD1's MPxN must name ("": not checked)


def _percentile(values: Sequence[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(values), q)), 3) if values else 0.0


def duplicates(received: Iterable[Received]) -> int:
    """Copies past the first of the same message id at the same endpoint (an id-less message is never one)."""
    seen = Counter((r.user_id, r.message_id) for r in received if r.message_id)
    return sum(n - 1 for n in seen.values() if n > 1)


def outage_figures(outages: Sequence[Outage], received: Sequence[Received], *, wait_s: float,
                   deadline_s: float = 60.0, prefix: str = "ad1") -> dict[str, Any]:
    """The AD1 figures of one regional outage (see the module docstring)."""
    expected = {o.hub: o for o in outages}
    first: dict[str, Received] = {}
    copies = misrouted = wrong_start = wrong_mpxn = 0
    ids: Counter[tuple[str, str]] = Counter()
    for r in received:
        if r.kind != DCC or r.code != AD1 or r.hub not in expected:
            continue
        outage = expected[r.hub]
        if r.user_id != outage.ed_user:
            misrouted += 1
            continue
        if r.message_id:
            ids[(r.user_id, r.message_id)] += 1
        if r.hub in first:
            copies += 1
            continue
        first[r.hub] = r
        if r.start is None or abs(r.start - outage.lost_at) > START_TOLERANCE_S:
            wrong_start += 1
        if outage.mpan and r.mpxn != outage.mpan:
            wrong_mpxn += 1
    delays = [first[h].at - (o.lost_at + wait_s) for h, o in expected.items() if h in first]
    within = sum(1 for d in delays if 0 <= d <= deadline_s)
    return {
        f"{prefix}_expected": len(expected),
        f"{prefix}_delivered": len(first),
        f"{prefix}_within_60s": within,  # within the deadline (the rule's 60 s unless told)
        f"{prefix}_within_share": round(within / len(expected), 4) if expected else 0.0,
        f"{prefix}_p50_s": _percentile(delays, 50),
        f"{prefix}_p99_s": _percentile(delays, 99),
        f"{prefix}_max_s": round(max(delays), 3) if delays else 0.0,
        f"{prefix}_lost": len(expected) - len(first),
        f"{prefix}_early": sum(1 for d in delays if d < 0),  # sent before the wait ended: the rule was broken
        f"{prefix}_misrouted": misrouted,
        f"{prefix}_wrong_start": wrong_start,
        f"{prefix}_wrong_mpxn": wrong_mpxn,
        f"{prefix}_duplicates": sum(n - 1 for n in ids.values() if n > 1),
        f"{prefix}_repeated": copies,  # the same hub's AD1 received again (under any message id)
    }


def default_rank(code: str) -> int:
    """The priority class rank (0 = highest) of a message by its code, from the default traffic classes
    (``alerts/traffic.toml``: power_outage, security, prepayment, on_demand, alert, future_dated, bulk) and the
    default catalogue: AD1 and the Supply Outage Restored alerts are power_outage, 8F3E is security, other
    device and DCC Alerts are alert."""
    if code in (AD1, "8F35", "8F36"):
        return 0
    if code == "8F3E":
        return 1
    return 4


def return_figures(received: Sequence[Received], user_id: str, returned_at: float, *,
                   rank: Callable[[str], int] = default_rank, prefix: str = "return") -> dict[str, Any]:
    """The order and drain of the backlog a User's endpoint received after it came back at ``returned_at``."""
    backlog = sorted((r for r in received if r.user_id == user_id and r.at >= returned_at), key=lambda r: r.at)
    ranks = [rank(r.code) for r in backlog]
    in_order = 0
    worst_so_far = -1  # the lowest priority (highest rank) seen so far
    for value in ranks:
        if worst_so_far <= value:
            in_order += 1
        worst_so_far = max(worst_so_far, value)
    ad1_positions = [k for k, r in enumerate(backlog) if r.kind == DCC and r.code == AD1]
    first_lower = next((k for k, value in enumerate(ranks) if value > rank(AD1)), len(backlog))
    ad1_first = sum(1 for k in ad1_positions if k < first_lower)
    by_code = Counter(r.code or r.kind for r in backlog)
    return {
        f"{prefix}_backlog": len(backlog),
        f"{prefix}_backlog_by_code": dict(sorted(by_code.items())),
        # None (JSON null) when there is nothing to order: no backlog, or no AD1 in it
        f"{prefix}_in_priority_order_share": round(in_order / len(backlog), 4) if backlog else None,
        f"{prefix}_ad1_first_share": round(ad1_first / len(ad1_positions), 4) if ad1_positions else None,
        f"{prefix}_drain_s": round(backlog[-1].at - returned_at, 3) if backlog else 0.0,
        f"{prefix}_ad1_drain_s": round(backlog[ad1_positions[-1]].at - returned_at, 3) if ad1_positions else 0.0,
    }


def storm_figures(received: Sequence[Received], *, since: float = 0.0, until: float = float("inf"),
                  prefix: str = "storm") -> dict[str, Any]:
    """Device alerts the endpoints received between ``since`` and ``until``: by code, throttle summaries."""
    window = [r for r in received if since <= r.at < until]
    device = [r for r in window if r.kind == DEVICE]
    summaries = [r for r in device if r.throttled_count is not None]
    sampled = [r for r in window if r.valid is not None]
    span = (max(r.at for r in window) - min(r.at for r in window)) if len(window) > 1 else 0.0
    return {
        f"{prefix}_device_alerts_received": len(device),
        f"{prefix}_received_by_code": dict(sorted(Counter(r.code for r in device).items())),
        f"{prefix}_throttle_summaries": len(summaries),
        f"{prefix}_throttled_alerts_counted": sum(r.throttled_count or 0 for r in summaries),
        f"{prefix}_garbage": sum(1 for r in window if r.kind == GARBAGE),
        f"{prefix}_schema_checked": len(sampled),
        f"{prefix}_schema_invalid": sum(1 for r in sampled if not r.valid),
        f"{prefix}_received_per_s": round(len(window) / span, 1) if span else 0.0,
    }


def per_user(received: Sequence[Received], users: Mapping[str, str]) -> dict[str, int]:
    """Messages received per User (by the label given in ``users``)."""
    counts = Counter(r.user_id for r in received)
    return {label: counts.get(user, 0) for user, label in users.items()}
