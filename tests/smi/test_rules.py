"""The pure SMI rules: EUI-64 storage, codes and the SMI Status lifecycle."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gbsmart.models.smi import SUSPENDED_CODE
from gbsmart.smi import rules
from gbsmart.smi.enums import CspRegion, DeviceEvent, DeviceType, Fuel, SmiStatus
from gbsmart.smi.rules import (
    STATUS_CODE,
    STATUS_OF,
    SUSPENDABLE,
    TransitionRefused,
    check_transition,
    cpl_target,
    eui64_to_int,
    int_to_eui64,
)

u64 = st.integers(min_value=0, max_value=2**64 - 1)


@given(u64)
def test_eui64_round_trip_and_signed_range(value):
    text = f"{value:016X}"
    eui = "-".join(text[i : i + 2] for i in range(0, 16, 2))
    stored = eui64_to_int(eui)
    assert -(2**63) <= stored < 2**63
    assert int_to_eui64(stored) == eui
    assert eui64_to_int(text.lower()) == stored == eui64_to_int(eui.replace("-", ":"))


@given(u64, u64)
def test_stored_order_is_device_id_order(a, b):
    assert (a < b) == (eui64_to_int(a) < eui64_to_int(b))


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_every_signed_value_is_a_device_id(stored):
    assert eui64_to_int(int_to_eui64(stored)) == stored


@pytest.mark.parametrize("bad", ["", "00-0D-6F", "GG-00-00-00-00-00-00-00", "00-0D-6F-00-00-12-34-56-78"])
def test_bad_eui64_names_the_format(bad):
    with pytest.raises(ValueError, match="EUI-64"):
        eui64_to_int(bad)


def test_codes_are_stable():
    assert [STATUS_CODE[s] for s in SmiStatus] == list(range(1, 10))
    assert STATUS_CODE[SmiStatus.SUSPENDED] == 7 == rules.SUSPENDED
    assert rules.DEVICE_TYPE_CODE[DeviceType.ESME] == 1 and rules.DEVICE_TYPE_CODE[DeviceType.CAD] == 8
    assert all(STATUS_OF[STATUS_CODE[s]] is s for s in SmiStatus)


def test_lifecycle_shape():
    assert SmiStatus.SUSPENDED not in {t for targets in rules.TRANSITIONS.values() for t in targets}
    assert not rules.TRANSITIONS[SmiStatus.DECOMMISSIONED] and not rules.TRANSITIONS[SmiStatus.WITHDRAWN]
    path = [SmiStatus.PENDING, SmiStatus.WHITELISTED, SmiStatus.INSTALLED_NOT_COMMISSIONED, SmiStatus.COMMISSIONED,
            SmiStatus.DECOMMISSIONED]
    for a, b in zip(path, path[1:], strict=False):
        check_transition(a, b)
    check_transition(SmiStatus.COMMISSIONED, SmiStatus.RECOVERY)
    check_transition(SmiStatus.RECOVERY, SmiStatus.RECOVERED)


def test_refusal_names_the_allowed_transitions():
    with pytest.raises(TransitionRefused, match="allowed from Pending: Whitelisted, Withdrawn"):
        check_transition(SmiStatus.PENDING, SmiStatus.COMMISSIONED)
    with pytest.raises(TransitionRefused, match="Suspended device returns to its previous status"):
        check_transition(SmiStatus.SUSPENDED, SmiStatus.COMMISSIONED)


@given(st.sampled_from(list(SmiStatus)), st.sampled_from(list(SmiStatus)))
def test_check_transition_agrees_with_the_table(a, b):
    try:
        check_transition(a, b)
        allowed = True
    except TransitionRefused:
        allowed = False
    assert allowed == (b in rules.TRANSITIONS[a])


@given(st.sampled_from(list(SmiStatus)))
def test_suspend_then_restore_returns_to_the_previous_status(status):
    suspended = cpl_target(status, None, model_active=False)
    if status in SUSPENDABLE:
        assert suspended is SmiStatus.SUSPENDED
        assert cpl_target(suspended, status, model_active=True) is status
    else:
        assert suspended is status  # end states and Suspended itself stay as they are
    assert cpl_target(status, None, model_active=True) is (SmiStatus.PENDING if status is SmiStatus.SUSPENDED
                                                           else status)


def test_commission_refusals_name_the_field_and_the_rule():
    assert "device_model" in rules.commission_refusal(False, None, DeviceType.ESME)
    assert "is Expired" in rules.commission_refusal(True, "Expired", DeviceType.GSME)
    assert rules.commission_refusal(True, "Active", DeviceType.ESME) is None
    assert rules.commission_refusal(False, None, DeviceType.IHD) is None  # IHDs need not be on the CPL


E, G = Fuel.ELECTRICITY, Fuel.GAS


@pytest.mark.parametrize(("mpxn", "fuel"), [("1200000123456", E), (2300000000001, E), ("123456", G),
                                            ("1000000034", G), (" 7418529 ", G)])
def test_an_mpxn_s_form_gives_its_fuel(mpxn, fuel):
    assert rules.mpxn_fuel(mpxn) is fuel


@pytest.mark.parametrize(("bad", "says"), [("12345", "has 5 digits"), ("12345678901", "has 11 digits"),
                                           ("123456789012", "has 12 digits"), ("12000001234567", "has 14 digits"),
                                           ("0123456", "starts with 0"), ("12-345678", "is not an MPxN"),
                                           ("", "is not an MPxN"), ("١٢٣٤٥٦٧", "is not an MPxN")])
def test_a_malformed_mpxn_names_the_forms(bad, says):
    with pytest.raises(ValueError, match=says):
        rules.mpxn_fuel(bad)
    if says != "starts with 0":
        with pytest.raises(ValueError, match=r"an MPAN core \(13 digits, electricity\) or an MPRN \(6 to 10 digits"):
            rules.mpxn_fuel(bad)


def test_the_stored_codes_are_pinned():
    """The small-integer codes are stored in smi_devices, smi_status_history and smi_device_events (and in the
    look-up index): reordering an enumeration in smi/enums.py would silently change every stored row's meaning."""
    assert {m.value: c for m, c in rules.DEVICE_TYPE_CODE.items()} == {
        "ESME": 1, "GSME": 2, "GPF": 3, "CHF": 4, "HCALCS": 5, "PPMID": 6, "IHD": 7, "CAD": 8}
    assert {m.value: c for m, c in rules.STATUS_CODE.items()} == {
        "Pending": 1, "Whitelisted": 2, "InstalledNotCommissioned": 3, "Commissioned": 4, "Decommissioned": 5,
        "Withdrawn": 6, "Suspended": 7, "Recovery": 8, "Recovered": 9}
    assert {m.value: c for m, c in rules.REGION_CODE.items()} == {"North": 1, "Central": 2, "South": 3}
    assert {m.value: c for m, c in rules.EVENT_CODE.items()} == {"DeviceSuspended": 1, "DeviceRestored": 2}
    assert {m.value: c for m, c in rules.MODEL_STATUS_CODE.items()} == {
        "Active": 1, "Cancelled": 2, "Expired": 3, "Withdrawn": 4}
    assert all(rules.STATUS_OF[c] is s for s, c in rules.STATUS_CODE.items())
    assert rules.SUSPENDED == SUSPENDED_CODE


def test_labels_and_colours_are_unchanged():
    assert {m.value: (m.label, m.colour) for m in SmiStatus} == {
        "Pending": ("Pending", "grey"), "Whitelisted": ("Whitelisted", "cyan"),
        "InstalledNotCommissioned": ("Installed, not commissioned", "blue"), "Commissioned": ("Commissioned", "green"),
        "Decommissioned": ("Decommissioned", "grey"), "Withdrawn": ("Withdrawn", "grey"),
        "Suspended": ("Suspended", "red"), "Recovery": ("Recovery", "orange"), "Recovered": ("Recovered", "teal")}
    hcalcs = DeviceType.HCALCS
    assert (hcalcs.label, hcalcs.colour) == ("HAN Connected Auxiliary Load Control Switch", "teal")
    assert (Fuel.GAS.label, Fuel.GAS.colour) == ("Gas (MPRN)", "orange")
    assert (CspRegion.CENTRAL.label, CspRegion.CENTRAL.colour) == ("Central", "grey")
    assert (DeviceEvent.DEVICE_RESTORED.label, DeviceEvent.DEVICE_RESTORED.colour) == ("DeviceRestored", "green")
