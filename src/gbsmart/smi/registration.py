"""Registration data of the Smart Metering Inventory: which Supplier and which Network Operator serve an MPAN or an
MPRN, and from when (DOMAIN.md section 5). Takes a Ctx; never commits.

Registration data decides which Users may act on a device (DUIS response E4 otherwise) and which Users a
DeviceSuspended / DeviceRestored alert goes to. Each MPxN has a history of periods ``[valid_from, valid_to)``; the
period without ``valid_to`` is the current one, and a new registration closes it on the new one's first day, so
the history never has gaps or overlaps. Only the DCC and the Code Administrator record registration data; the DCC,
the Code Administrator and a Party that is or was the MPxN's Supplier or Network Operator may read it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.core.db import insert_or_conflict
from gbsmart.core.errors import Conflict, Forbidden, Invalid, NotFound
from gbsmart.models.parties import DccUser, Organisation
from gbsmart.models.smi import SmiRegistration
from gbsmart.parties.enums import OrganisationKind, PartyCategory
from gbsmart.parties.schemas import normalise_eui64
from gbsmart.parties.service import find_organisation
from gbsmart.smi import rules
from gbsmart.smi.enums import Fuel
from gbsmart.smi.schemas import OrganisationRef, RegistrationCreate, RegistrationHistory, RegistrationRead

#: Who records registration data (and reads any of it): the DCC, the Code Administrator, and system jobs.
RECORDERS = ("dcc", "code_administrator", "system")

FORBIDDEN_TO_RECORD = "Only the DCC or the Code Administrator may record registration data."
FORBIDDEN_TO_READ = ("Registration data of an MPxN is shown only to the DCC, the Code Administrator and the Parties "
                     "that are or were its Supplier or Network Operator.")

_FORM = {Fuel.ELECTRICITY: "an MPAN core (13 digits: electricity)", Fuel.GAS: "an MPRN (6 to 10 digits: gas)"}


def may_record(ctx: Ctx) -> bool:
    return ctx.actor.has_role(*RECORDERS)


def parse_mpxn(value: str | int, field: str = "mpxn") -> tuple[int, Fuel]:
    """The stored MPxN and its fuel, or Invalid naming ``field`` and the forms an MPxN takes."""
    try:
        fuel = rules.mpxn_fuel(value)
    except ValueError as exc:
        raise Invalid(f"{field}: {exc}.", detail=[{"field": field, "message": str(exc)}]) from None
    return int(str(value).strip()), fuel


def resolve_organisation(session: Session, ref: str | int | None) -> Organisation | None:
    """An organisation by id (a number), or by name or short name (any case); None if there is none."""
    if ref is None or (isinstance(ref, str) and not ref.strip()):
        return None
    if isinstance(ref, int) or ref.strip().isdigit():
        key = int(ref)
        return session.get(Organisation, key) if 0 < key < 2**31 else None  # ids are 32-bit
    return find_organisation(session, ref)


def _a(label: str) -> str:
    return f"{'an' if label[:1] in 'AEIOU' else 'a'} {label}"


def _what_it_is(org: Organisation) -> str:
    if org.party_category:
        return _a(PartyCategory(org.party_category).label)
    try:
        return f"{OrganisationKind(org.kind).label}, not a SEC Party with a Party Category"
    except ValueError:
        return f"of kind {org.kind!r}, not a SEC Party with a Party Category"


def _party_problem(org: Organisation | None, ref: str | int, wanted: tuple[str, ...], role: str) -> str | None:
    """Why ``org`` cannot be this registration's Supplier or Network Operator, or None."""
    if org is None:
        return f"no organisation called {ref!r} (give its name, short name or id)" if ref not in (None, "") \
            else f"required: the {role}"
    if org.kind == OrganisationKind.SEC_PARTY and org.party_category in wanted:
        return None
    labels = " or ".join(PartyCategory(c).label for c in wanted)
    return f"{org.name} is {_what_it_is(org)}; the {role} must be {_a(labels)}"


def _dcc_user_problem(session: Session, raw: str | None, org: Organisation | None, roles: tuple[str, ...],
                      role: str) -> tuple[int | None, str | None]:
    """The dcc_users.id of an optional DCC User ID of ``org`` holding one of ``roles``, or a problem."""
    if raw is None or not raw.strip():
        return None, None
    try:
        eui = normalise_eui64(raw)
    except ValueError as exc:
        return None, f"{raw!r} is not a DCC User ID: {exc}"
    user = session.scalar(select(DccUser).where(DccUser.eui64 == eui))
    if user is None:
        return None, f"no DCC User ID {eui} is held by any organisation"
    if org is not None and user.organisation_id != org.id:
        return None, f"DCC User ID {eui} is not held by {org.name}, the {role}"
    if not set(user.roles) & set(roles):
        return None, (f"DCC User ID {eui} holds the User Roles {', '.join(user.roles) or 'none'}; the {role} of this "
                      f"fuel needs {' or '.join(roles)}")
    return user.id, None


def _current_for_update(session: Session, mpxn: int) -> SmiRegistration | None:
    return session.scalar(select(SmiRegistration).where(SmiRegistration.mpxn == mpxn,
                                                        SmiRegistration.valid_to.is_(None)).with_for_update())


def record_registration(ctx: Ctx, data: RegistrationCreate) -> SmiRegistration:
    """From ``data.valid_from`` this Supplier and Network Operator serve the MPxN; the current period closes that day.

    Refused (403) unless the DCC or the Code Administrator acts; refused (422, each problem naming its field) unless
    the MPxN is an MPAN core or an MPRN of the fuel given, the Supplier is a Supplier Party (Large or Small), the
    Network Operator is the Network Party of that fuel (Electricity for an MPAN, Gas for an MPRN), any DCC User IDs
    are theirs with a User Role for that fuel, and ``valid_from`` is not in the future and after the current
    registration's start (registration data moves forward; the history is kept).
    """
    if not may_record(ctx):
        raise Forbidden(FORBIDDEN_TO_RECORD)
    s = ctx.session
    problems: list[dict[str, str]] = []

    def problem(field: str, message: str) -> None:
        problems.append({"field": field, "message": message})

    mpxn: int | None = None
    supplier_user = network_user = None
    fuel = data.fuel
    try:
        mpxn, form_fuel = parse_mpxn(data.mpxn)
    except Invalid as exc:
        problems += exc.detail
        form_fuel = None
    if form_fuel is not None:
        if fuel is not None and fuel is not form_fuel:
            problem("fuel", f"fuel {fuel.value} is {'electricity' if fuel is Fuel.ELECTRICITY else 'gas'}, but "
                            f"{mpxn} is {_FORM[form_fuel]}; give fuel {form_fuel.value} or {_FORM[fuel]}")
        fuel = form_fuel

    supplier = resolve_organisation(s, data.supplier)
    network = resolve_organisation(s, data.network_operator)
    msg = _party_problem(supplier, data.supplier, rules.SUPPLIER_CATEGORIES, "Supplier")
    if msg:
        problem("supplier", msg)
        supplier = None
    wanted = (rules.NETWORK_CATEGORY[fuel],) if fuel else tuple(rules.NETWORK_CATEGORY.values())
    msg = _party_problem(network, data.network_operator, wanted, "Network Operator" if fuel is None else
                         f"Network Operator of {'an MPAN' if fuel is Fuel.ELECTRICITY else 'an MPRN'}")
    if msg:
        problem("network_operator", msg)
        network = None
    if fuel is not None:
        supplier_user, msg = _dcc_user_problem(s, data.supplier_user_id, supplier, rules.SUPPLIER_USER_ROLES[fuel],
                                               "Supplier")
        if msg:
            problem("supplier_user_id", msg)
        network_user, msg = _dcc_user_problem(s, data.network_operator_user_id, network,
                                              rules.NETWORK_USER_ROLES[fuel], "Network Operator")
        if msg:
            problem("network_operator_user_id", msg)

    today = ctx.clock.today()
    if data.valid_from > today:
        problem("valid_from", f"{data.valid_from:%d %b %Y} is in the future (today is {today:%d %b %Y}): record a "
                              "registration on or after the day it starts")
    current = _current_for_update(s, mpxn) if mpxn is not None else None
    if current is not None and data.valid_from <= current.valid_from:
        problem("valid_from", f"must be after {current.valid_from:%d %b %Y}, when the current registration began: "
                              "registration data moves forward and keeps its history")
    if problems:
        fields = ", ".join(dict.fromkeys(p["field"] for p in problems))
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        raise Invalid(f"The registration of MPxN {mpxn or data.mpxn} was refused ({count}: {fields}).",
                      detail=problems)

    assert mpxn is not None and fuel is not None and supplier is not None and network is not None
    return write_registration(ctx, mpxn=mpxn, fuel=fuel, supplier_org_id=supplier.id,
                              network_operator_org_id=network.id, valid_from=data.valid_from,
                              supplier_user_id=supplier_user, network_operator_user_id=network_user, current=current)


def write_registration(ctx: Ctx, *, mpxn: int, fuel: Fuel | str, supplier_org_id: int, network_operator_org_id: int,
                       valid_from: date, supplier_user_id: int | None = None,
                       network_operator_user_id: int | None = None,
                       current: SmiRegistration | None = None) -> SmiRegistration:
    """Write one registration period, closing the current one on ``valid_from``: no Party checks.

    ``record_registration`` calls it once its checks pass; test set-ups and loaders of trusted data call it directly.
    Only the order of periods is still enforced, since the history must never overlap.
    """
    s = ctx.session
    if current is None:
        current = _current_for_update(s, mpxn)
    if current is not None:
        if valid_from <= current.valid_from:
            raise Invalid(f"valid_from: must be after {current.valid_from:%d %b %Y}, when the current registration "
                          "began.", detail=[{"field": "valid_from", "message": "not after the current period's start"}])
        s.execute(update(SmiRegistration).where(SmiRegistration.id == current.id).values(valid_to=valid_from))
    row = SmiRegistration(mpxn=mpxn, fuel=Fuel(fuel).value, supplier_org_id=supplier_org_id,
                          supplier_user_id=supplier_user_id, network_operator_org_id=network_operator_org_id,
                          network_operator_user_id=network_operator_user_id, valid_from=valid_from)
    insert_or_conflict(s, row, Conflict(f"The registration data of MPxN {mpxn} was changed by someone else at the "
                                        "same time; reload it and try again."))
    if current is not None:
        s.refresh(current)
    record_change(ctx, "smi.registration.set", "smi_registration", mpxn,
                  before=_audit_view(s, current) if current else None, after=_audit_view(s, row))
    return row


def _audit_view(session: Session, r: SmiRegistration) -> dict:
    names = organisation_names(session, {r.supplier_org_id, r.network_operator_org_id})
    return {"fuel": r.fuel, "supplier_org_id": r.supplier_org_id, "supplier": names.get(r.supplier_org_id),
            "network_operator_org_id": r.network_operator_org_id,
            "network_operator": names.get(r.network_operator_org_id), "supplier_user_id": r.supplier_user_id,
            "network_operator_user_id": r.network_operator_user_id, "valid_from": r.valid_from,
            "valid_to": r.valid_to}


# ---------------------------------------------------------------- reading


def registration_history(session: Session, mpxn: int) -> list[SmiRegistration]:
    """Every registration of ``mpxn``, oldest first."""
    return list(session.scalars(select(SmiRegistration).where(SmiRegistration.mpxn == mpxn)
                                .order_by(SmiRegistration.valid_from, SmiRegistration.id)))


def may_read(ctx: Ctx, rows: list[SmiRegistration]) -> bool:
    """The DCC and the Code Administrator; a Party user if their Party is or was the Supplier or Network Operator."""
    if ctx.actor.has_role(*RECORDERS):
        return True
    org = ctx.actor.organisation_id
    return org is not None and any(org in (r.supplier_org_id, r.network_operator_org_id) for r in rows)


def organisation_names(session: Session, ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all())


def history_read(session: Session, mpxn: int, rows: list[SmiRegistration]) -> RegistrationHistory:
    """The API shape of an MPxN's registrations, with organisation names and DCC User IDs."""
    names = organisation_names(session, {i for r in rows for i in (r.supplier_org_id, r.network_operator_org_id)})
    user_ids = {i for r in rows for i in (r.supplier_user_id, r.network_operator_user_id) if i is not None}
    euis = dict(session.execute(select(DccUser.id, DccUser.eui64).where(DccUser.id.in_(user_ids))).all()) \
        if user_ids else {}
    items = [RegistrationRead(
        mpxn=str(r.mpxn), fuel=Fuel(r.fuel),
        supplier=OrganisationRef(id=r.supplier_org_id, name=names.get(r.supplier_org_id)),
        network_operator=OrganisationRef(id=r.network_operator_org_id, name=names.get(r.network_operator_org_id)),
        supplier_user_id=euis.get(r.supplier_user_id), network_operator_user_id=euis.get(r.network_operator_user_id),
        valid_from=r.valid_from, valid_to=r.valid_to, current=r.valid_to is None) for r in rows]
    return RegistrationHistory(mpxn=str(mpxn), fuel=items[-1].fuel if items else rules.mpxn_fuel(mpxn),
                               current=next((i for i in reversed(items) if i.current), None), history=items)


def read_registrations(ctx: Ctx, mpxn_text: str | int) -> RegistrationHistory:
    """An MPxN's current registration and history, for those who may read it (403 otherwise, 404 if none)."""
    mpxn, _ = parse_mpxn(mpxn_text)
    rows = registration_history(ctx.session, mpxn)
    if not may_read(ctx, rows):
        raise Forbidden(FORBIDDEN_TO_READ)
    if not rows:
        raise NotFound(f"No registration data for MPxN {mpxn}: no Supplier or Network Operator has been recorded.")
    return history_read(ctx.session, mpxn, rows)


# ---------------------------------------------------------------- choices for forms


def supplier_parties(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).where(
        Organisation.kind == OrganisationKind.SEC_PARTY.value,
        Organisation.party_category.in_(rules.SUPPLIER_CATEGORIES)).order_by(Organisation.name)))


def network_parties(session: Session, fuel: Fuel) -> list[Organisation]:
    return list(session.scalars(select(Organisation).where(
        Organisation.kind == OrganisationKind.SEC_PARTY.value,
        Organisation.party_category == rules.NETWORK_CATEGORY[fuel]).order_by(Organisation.name)))

