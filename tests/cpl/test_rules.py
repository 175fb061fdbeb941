"""The CPL rules: properties (Hypothesis) and a worked example for every bad input of the issue."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from gbsmart.cpl import rules
from gbsmart.cpl.enums import CertificateKind, NoticeKind, PhysicalDeviceType, SubmissionKind
from gbsmart.cpl.rules import CertificateFacts, Failure, SubmissionFacts

Z, D, C = CertificateKind.ZIGBEE, CertificateKind.DLMS, CertificateKind.CPA
ON = date(2020, 1, 28)
dates = st.dates(min_value=date(2010, 1, 1), max_value=date(2040, 12, 31))
kinds = st.sampled_from(list(CertificateKind))


def cert(kind: CertificateKind, **kw) -> CertificateFacts:
    kw.setdefault("expiry_date", date(2024, 6, 30) if kind is C else None)
    return CertificateFacts(kind=kind, number=f"{kind.value}-1", issued_on=date(2019, 6, 1), **kw)


def esme(**kw) -> SubmissionFacts:
    base = SubmissionFacts(kind=SubmissionKind.NEW_ENTRY, manufacturer="Demo Meters Ltd", model="DM-1",
                           hardware_version="A1", firmware_version="1.0", physical_device_type="ESME_SINGLE",
                           release_notes="Initial release.", technical_specification="SMETS2 v4.1",
                           gbcs_version="2.0", certificates=(cert(Z), cert(D), cert(C)))
    return replace(base, **kw)


def only(failures: list[Failure]) -> Failure:
    assert len(failures) == 1, [str(f) for f in failures]
    return failures[0]


# ---------------------------------------------------------------- properties


@given(st.sampled_from(rules.LISTED_TYPES), st.sets(kinds), st.booleans())
def test_the_certificate_matrix_is_met_exactly_when_every_required_kind_is_given(device_type, given_kinds, smets1):
    certs = [cert(k) for k in given_kinds]
    matrix = [f for f in rules.certificate_failures(device_type, smets1, certs, ON) if f.rule == "certificate-matrix"]
    missing = rules.required_certificates(device_type, smets1) - given_kinds
    assert len(matrix) == len(missing)
    for f in matrix:
        assert f.field == "certificates" and "CPL Requirements, SEC F2" in f.message


@given(st.sampled_from(list(PhysicalDeviceType)))
def test_zigbee_is_always_required_and_cpa_never_for_smets1(device_type):
    needed = rules.required_certificates(device_type)
    if device_type in rules.NOT_LISTED:
        assert needed == frozenset()
    else:
        assert Z in needed
        assert C not in rules.required_certificates(device_type, smets1=True)
        assert (D in needed) == device_type.value.startswith("ESME")


@given(st.sampled_from([Z, D]), dates, dates, st.one_of(st.none(), dates))
def test_zigbee_and_dlms_never_expire(kind, on, expiry, revoked):
    c = CertificateFacts(kind=kind, number="1", expiry_date=expiry, revoked_on=revoked)
    assert rules.certificate_valid_on(c, on) == (revoked is None or revoked > on)


@given(dates, dates, st.booleans(), st.one_of(st.none(), dates), st.one_of(st.none(), dates))
def test_a_cpa_certificate_is_valid_if_not_revoked_expired_or_past_its_conditional_date(
        on, expiry, conditional, conditional_date, revoked):
    c = CertificateFacts(kind=C, number="1", expiry_date=expiry, conditional=conditional,
                         conditional_date=conditional_date, revoked_on=revoked)
    expected = ((revoked is None or revoked > on) and on <= expiry
                and not (conditional and conditional_date is not None and on > conditional_date))
    assert rules.certificate_valid_on(c, on) == expected
    assert (rules.certificate_problem(c, on) is None) == expected


@given(st.sampled_from([PhysicalDeviceType.IHD, PhysicalDeviceType.TYPE2]), st.sets(kinds), st.booleans())
def test_ihd_and_type_2_are_always_refused(device_type, given_kinds, smets1):
    failures = rules.validate_submission(esme(physical_device_type=device_type.value, smets1=smets1,
                                              certificates=tuple(cert(k) for k in given_kinds)), ON)
    assert any(f.field == "physical_device_type" and f.rule == "device-type-listed" for f in failures)


@given(dates, dates, st.sets(st.sampled_from(list(NoticeKind))))
def test_notices_are_sent_once_in_their_window_and_never_after_expiry(expiry, today, sent):
    due = rules.notices_due(expiry, today, sent)
    assert len(due) <= 1 and not set(due) & sent
    if today > expiry or today < rules.add_months(expiry, -12):
        assert due == []
    for kind in due:
        assert rules.notice_due_on(expiry, kind) <= today <= expiry
    if NoticeKind.TWELVE_MONTHS in due:
        assert today < rules.add_months(expiry, -6)


@given(dates)
def test_walking_day_by_day_to_expiry_sends_exactly_one_notice_of_each_kind(expiry):
    sent: list[NoticeKind] = []
    day = rules.add_months(expiry, -13)
    while day <= expiry + timedelta(days=3):
        sent += rules.notices_due(expiry, day, set(sent))
        day += timedelta(days=7 if day < rules.add_months(expiry, -12) - timedelta(days=8) else 1)
    assert sent == [NoticeKind.TWELVE_MONTHS, NoticeKind.SIX_MONTHS]


@given(dates, st.integers(min_value=-240, max_value=240))
def test_add_months_keeps_the_day_or_clamps_to_the_month_end(d, n):
    moved = rules.add_months(d, n)
    assert (moved.year * 12 + moved.month) - (d.year * 12 + d.month) == n
    assert moved.day == d.day or (moved.day < d.day and (moved + timedelta(days=1)).day == 1)


@given(dates, st.one_of(st.none(), st.integers(min_value=0, max_value=400)))
def test_a_removal_takes_effect_on_its_date_or_after_the_grace_period(effective_on, grace_days):
    grace = effective_on + timedelta(days=grace_days) if grace_days is not None else None
    takes = rules.removal_takes_effect_on(effective_on, grace)
    assert takes == (grace + timedelta(days=1) if grace else effective_on) and takes >= effective_on


def test_a_valid_esme_passes():
    assert rules.validate_submission(esme(), ON) == []


# ---------------------------------------------------------------- worked examples: every bad input of the issue


def test_an_esme_without_a_dlms_certificate():
    f = only(rules.validate_submission(esme(certificates=(cert(Z), cert(C))), ON))
    assert (f.field, f.rule) == ("certificates", "certificate-matrix")
    assert str(f) == "certificates: an ESME needs a DLMS certificate (CPL Requirements, SEC F2)"


def test_an_ihd_submitted_to_the_cpl():
    f = only(rules.validate_submission(esme(physical_device_type="IHD", certificates=(cert(Z),)), ON))
    assert (f.field, f.rule) == ("physical_device_type", "device-type-listed")
    assert str(f).startswith("physical_device_type: an IHD is not submitted to the CPL (SEC F2")


def test_a_firmware_update_without_supplier_confirmation():
    update = esme(kind=SubmissionKind.FIRMWARE_UPDATE, firmware_version="1.1")
    f = only(rules.validate_submission(update, ON))
    assert (f.field, f.rule) == ("supplier_confirmation", "firmware-update-supplier-confirmation")
    assert "needs a Supplier's confirmation" in f.message and "CPL Submission Guidance" in f.message
    assert rules.validate_submission(replace(update, submitter_is_supplier=True), ON) == []
    assert rules.validate_submission(replace(update, supplier_confirmation="Big Energy plc",
                                             supplier_confirmation_is_supplier=True), ON) == []
    f = only(rules.validate_submission(replace(update, supplier_confirmation="Wires North"), ON))
    assert f.message.startswith("Wires North is not a Supplier")
    f = only(rules.validate_submission(replace(update, base_entry_exists=False, submitter_is_supplier=True), ON))
    assert (f.field, f.rule) == ("firmware_version", "firmware-update-base")


def test_an_expired_cpa_certificate():
    f = only(rules.validate_submission(esme(certificates=(cert(Z), cert(D), cert(C, expiry_date=date(2019, 12, 31)))),
                                       ON))
    assert (f.field, f.rule) == ("certificates", "certificate-valid")
    assert str(f).startswith("certificates: CPA certificate cpa-1 expired on 2019-12-31 (SEC F2")


def test_a_conditional_cpa_past_its_date():
    lapsed = cert(C, conditional=True, conditional_date=date(2019, 10, 1))
    f = only(rules.validate_submission(esme(certificates=(cert(Z), cert(D), lapsed)), ON))
    assert (f.field, f.rule) == ("certificates", "certificate-valid")
    assert "conditional CPA certificate cpa-1 passed its conditional date 2019-10-01" in f.message
    assert rules.validate_submission(esme(certificates=(cert(Z), cert(D), replace(
        lapsed, conditional_date=date(2020, 7, 1)))), ON) == []
    f = only(rules.validate_submission(esme(certificates=(cert(Z), cert(D), replace(lapsed, conditional_date=None))),
                                       ON))
    assert (f.field, f.rule) == ("certificates", "certificate-details")


def test_a_revoked_certificate():
    f = only(rules.validate_submission(esme(certificates=(cert(Z, revoked_on=date(2019, 5, 1)), cert(D), cert(C))),
                                       ON))
    assert f.rule == "certificate-valid" and "ZigBee certificate zigbee-1 was revoked on 2019-05-01" in f.message


def test_smets1_entries_only_from_the_dcc_and_without_cpa():
    smets1 = esme(physical_device_type="GSME", smets1=True, technical_specification="SMETS1 v1.2",
                  gbcs_version=None, certificates=(cert(Z),))
    f = only(rules.validate_submission(smets1, ON))
    assert (f.field, f.rule) == ("smets1", "smets1-from-dcc")
    assert rules.validate_submission(replace(smets1, submitter_is_dcc=True), ON) == []
    f = only(rules.validate_submission(replace(smets1, submitter_is_dcc=True, technical_specification="SMETS2 v4.1",
                                               gbcs_version="2.0"), ON))
    assert (f.field, f.rule) == ("smets1", "specification-matches")


def test_mapping_evidence_where_the_certificates_firmware_differs():
    differing = esme(certificates=(cert(Z, firmware_version="0.9"), cert(D), cert(C)))
    f = only(rules.validate_submission(differing, ON))
    assert (f.field, f.rule) == ("mapping_evidence", "mapping-evidence")
    assert "ZigBee zigbee-1 (firmware 0.9) certified another firmware version than 1.0" in f.message
    assert rules.validate_submission(replace(differing, mapping_evidence="ZigBee stack unchanged since 0.9."), ON) == []


def test_a_manufacturer_image_needs_a_signed_submission():
    f = only(rules.validate_submission(esme(image_creator="Demo Meters Ltd build service", image_hash="ab" * 32), ON))
    assert (f.field, f.rule) == ("signature", "manufacturer-image-signed")
    assert rules.validate_submission(esme(image_creator="x", image_hash="ab" * 32, signed=True), ON) == []
    failures = rules.validate_submission(esme(image_hash="not-a-hash", signed=True), ON)
    assert {(f.field, f.rule) for f in failures} == {("image_creator", "manufacturer-image"),
                                                     ("image_hash", "manufacturer-image")}


SIGNED_BY_MAKER = rules.SignatureFacts(signature=True, certificates=True, signer="Demo Meters Ltd",
                                       signer_organisations=("Demo Meters Ltd",),
                                       submitter_organisations=("Demo Meters Ltd", "DML"))


def signed(**kw) -> SubmissionFacts:
    return esme(image_creator="x", image_hash="ab" * 32, signed=True, signature_check=replace(SIGNED_BY_MAKER, **kw))


def test_a_verified_signature_by_the_submitting_organisation_passes():
    assert rules.validate_submission(signed(), ON) == []
    assert rules.validate_submission(signed(signer_organisations=("  demo meters  LTD",)), ON) == []
    assert rules.validate_submission(signed(signer_organisations=("DML",)), ON) == []  # its short name
    unsigned = esme(signature_check=rules.SignatureFacts(submitter_organisations=("Demo Meters Ltd",)))
    assert rules.validate_submission(unsigned, ON) == []  # no image, no signature: nothing to check


def test_each_signature_problem_names_its_field_and_rule():
    cases = [
        (dict(chain_problem="certificate 'X' expired on 2019-12-31"), "signer_certificates", "signer-trusted",
         "the signer's certificate is not trusted: certificate 'X' expired on 2019-12-31"),
        (dict(signature_problem="the signature does not verify"), "signature", "signature-valid",
         "the signature does not verify"),
        (dict(signer_organisations=("Big Energy plc",)), "signer_certificates", "signer-organisation",
         "signed by 'Big Energy plc' but submitted by 'Demo Meters Ltd'"),
        (dict(signer_organisations=()), "signer_certificates", "signer-organisation",
         "a certificate naming no organisation (O=)"),
        (dict(submitter_organisations=()), "signer_certificates", "signer-organisation", "belongs to no organisation"),
        (dict(certificates_problem="signer_certificates holds no readable PEM certificate"), "signer_certificates",
         "signer-certificates", "holds no readable PEM certificate"),
        (dict(certificates=False), "signer_certificates", "signature-complete", "carries the signer's certificate"),
    ]
    for kw, field_name, rule, words in cases:
        f = only(rules.validate_submission(signed(**kw), ON))
        assert (f.field, f.rule) == (field_name, rule), kw
        assert words in f.message and rules.CITES[rule] in f.message


def test_certificates_without_a_signature():
    no_signature = replace(SIGNED_BY_MAKER, signature=False)
    f = only(rules.validate_submission(esme(signature_check=no_signature), ON))  # no image
    assert (f.field, f.rule) == ("signature", "signature-complete")
    f = only(rules.validate_submission(esme(image_creator="x", image_hash="ab" * 32, signature_check=no_signature),
                                       ON))
    assert (f.field, f.rule) == ("signature", "manufacturer-image-signed")  # said once, by the image rule


def test_every_problem_at_once_is_listed():
    failures = rules.validate_submission(signed(chain_problem="untrusted", signature_problem="changed",
                                                signer_organisations=("Other",)), ON)
    assert [(f.field, f.rule) for f in failures] == [("signer_certificates", "signer-trusted"),
                                                     ("signer_certificates", "signer-organisation"),
                                                     ("signature", "signature-valid")]


def test_versions_must_be_known_current_and_match_the_type():
    f = only(rules.validate_submission(esme(gbcs_version="1.0", gbcs_end_date=date(2019, 1, 31)), ON))
    assert (f.field, f.rule) == ("gbcs_version", "version-current")
    f = only(rules.validate_submission(esme(technical_specification="SMETS9 v1", technical_specification_known=False),
                                       ON))
    assert (f.field, f.rule) == ("technical_specification", "version-known")
    f = only(rules.validate_submission(esme(technical_specification="CHTS v1.2"), ON))
    assert (f.field, f.rule) == ("technical_specification", "specification-matches")
    f = only(rules.validate_submission(esme(gbcs_version=None), ON))
    assert (f.field, f.rule) == ("gbcs_version", "version-known")


def test_missing_fields_and_duplicates_are_named():
    failures = rules.validate_submission(esme(manufacturer="", release_notes=" ", already_listed=True), ON)
    assert [(f.field, f.rule) for f in failures] == [("manufacturer", "required"), ("release_notes", "required"),
                                                     ("device_model", "device-model-unique")]
    f = only(rules.validate_submission(esme(physical_device_type="TOASTER"), ON))
    assert f.field == "physical_device_type" and "'TOASTER' is not a Physical Device Type" in f.message


def test_removal_needs_a_minute_and_a_sensible_grace_period():
    assert rules.removal_failures("SSC_77 3.5", "CPA withdrawn", date(2020, 4, 8), date(2020, 7, 8)) == []
    failures = rules.removal_failures(" ", "", date(2020, 4, 8), date(2020, 3, 1))
    assert [(f.field, f.rule) for f in failures] == [("minute_reference", "removal-minute"),
                                                     ("reason", "removal-minute"), ("grace_until", "removal-dates")]
