"""The CPL Requirements as pure rules: the certificate matrix, certificate validity, who may submit what, CPA
expiry notices and removals. No I/O and no session: the service gathers the facts, these rules judge them.

Sources: SEC Section F2 and the CPL Requirements Document as summarised by SECAS in seed 004 ("Certified Product
List (CPL) Challenges"); seed 000 section 3.5 (a removal with three more months for Suppliers); DOMAIN.md 4.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from gbsmart.cpl.enums import CertificateKind, NoticeKind, PhysicalDeviceType, SubmissionKind

Z, D, C = CertificateKind.ZIGBEE, CertificateKind.DLMS, CertificateKind.CPA

#: Seed 004, "Assurance Certificates": the certificates SMETS and CHTS require for each Physical Device Type.
REQUIRED_CERTIFICATES: dict[PhysicalDeviceType, frozenset[CertificateKind]] = {
    PhysicalDeviceType.PPMID: frozenset({Z}),
    PhysicalDeviceType.CH: frozenset({Z, C}),
    PhysicalDeviceType.GSME: frozenset({Z, C}),
    PhysicalDeviceType.HCALCS: frozenset({Z, C}),
    PhysicalDeviceType.ESME_SINGLE: frozenset({Z, C, D}),
    PhysicalDeviceType.ESME_TWIN: frozenset({Z, C, D}),
    PhysicalDeviceType.ESME_POLYPHASE: frozenset({Z, C, D}),
}
#: Seed 004, "What needs to be on the CPL": every type but these two; they are not submitted at all.
NOT_LISTED = frozenset({PhysicalDeviceType.IHD, PhysicalDeviceType.TYPE2})
LISTED_TYPES = tuple(t for t in PhysicalDeviceType if t not in NOT_LISTED)
SPECIFICATIONS = ("SMETS1", "SMETS2", "CHTS")

F2 = "CPL Requirements, SEC F2"
CITES = {
    "required": "CPL Requirements section 2 (a)-(f)",
    "device-type-listed": "SEC F2: only CH, ESME, GSME, PPMID and HCALCS Device Models are listed",
    "certificate-matrix": F2,
    "certificate-kind": F2,
    "certificate-valid": "SEC F2; CPL Requirements, removal on revocation or CPA expiry",
    "certificate-details": "CPL Requirements section 2 (f), (g)",
    "cpa-expiry-matches": "CPL Requirements section 2 (g)",
    "smets1-from-dcc": "CPL Requirements: SMETS1 submissions only from the DCC (seed 004)",
    "specification-matches": "CPL Requirements section 2 (e)",
    "version-known": "CPL Requirements section 2 (e)",
    "version-current": "CPL Requirements section 2 (e); end-dated versions need action (seed 004, GBCS v1.1)",
    "firmware-update-supplier-confirmation":
        "CPL Submission Guidance: a Supplier confirms a manufacturer's firmware update (seed 004)",
    "firmware-update-base": "CPL Submission Guidance: firmware updates use an existing entry's certificates",
    "mapping-evidence": "Panel decision on certificate mapping evidence (seed 004)",
    "manufacturer-image-signed": "CPL Requirements section 2 (h): a submission with a Manufacturer Image hash "
                                 "must be digitally signed",
    "manufacturer-image": "CPL Requirements section 2 (h)(i) and (h)(ii)",
    "signature-complete": "CPL Requirements section 2 (h): a signature comes with the certificate that checks it",
    "signer-certificates": "CPL Requirements section 2 (h): the signer's certificate, in PEM, with an ECDSA P-256 "
                           "key",
    "signer-trusted": "CPL Requirements section 2 (h): the signer's certificate chains to the trust anchor",
    "signer-organisation": "CPL Requirements section 2 (h): the submitting organisation signs its own submission",
    "signature-valid": "CPL Requirements section 2 (h): the signature covers the submission's content",
    "device-model-unique": "SEC A1 'Device Model': one entry per Manufacturer, model, hardware and firmware",
    "removal-minute": "CPL Requirements: the Panel discusses a removal first and the DCC relies on its minute",
    "removal-dates": "CPL Requirements: a removal may be scheduled with a grace period (seed 000)",
}
IMAGE_HASH = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class Failure:
    """One reason a submission (or a workbook row) is refused: which field, which rule, and why."""

    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": str(self)}


def fail(field_name: str, rule: str, what: str) -> Failure:
    return Failure(field_name, rule, f"{what} ({CITES[rule]})")


# ---------------------------------------------------------------- certificates


@dataclass(frozen=True)
class CertificateFacts:
    kind: CertificateKind
    number: str
    issued_on: date | None = None
    expiry_date: date | None = None
    conditional: bool = False
    conditional_date: date | None = None
    revoked_on: date | None = None
    firmware_version: str | None = None


def required_certificates(device_type: PhysicalDeviceType, smets1: bool = False) -> frozenset[CertificateKind]:
    """The certificates a Device Model of this type needs; SMETS1 entries carry no CPA certificate (seed 004)."""
    needed = REQUIRED_CERTIFICATES.get(device_type, frozenset())
    return needed - {C} if smets1 else needed


def article(device_type: PhysicalDeviceType) -> str:
    short = device_type.short
    return ("an " if short[0] in "AEIOU" else "a ") + short


def certificate_state(cert: CertificateFacts, on: date) -> str:
    """valid, revoked, expired or lapsed (a conditional CPA past its conditional date) on ``on``.

    ZigBee and DLMS certificates never expire (seed 004); a CPA certificate is valid if not revoked, not past its
    expiry (or renewal) date and, if conditional, not past its conditional date."""
    if cert.revoked_on is not None and cert.revoked_on <= on:
        return "revoked"
    if cert.kind is not C:
        return "valid"
    if cert.expiry_date is not None and on > cert.expiry_date:
        return "expired"
    if cert.conditional and cert.conditional_date is not None and on > cert.conditional_date:
        return "lapsed"
    return "valid"


def certificate_problem(cert: CertificateFacts, on: date) -> str | None:
    """Why ``cert`` is not valid on ``on``, in words, or None."""
    name = f"{cert.kind.label} certificate {cert.number}"
    state = certificate_state(cert, on)
    # certificate_state() names each of these only when the date it compares is set
    if state == "revoked":
        assert cert.revoked_on is not None
        return f"{name} was revoked on {cert.revoked_on.isoformat()}"
    if state == "expired":
        assert cert.expiry_date is not None
        return f"{name} expired on {cert.expiry_date.isoformat()}"
    if state == "lapsed":
        assert cert.conditional_date is not None
        return (f"conditional {name} passed its conditional date {cert.conditional_date.isoformat()} "
                "without the conditions being confirmed met")
    return None


def certificate_valid_on(cert: CertificateFacts, on: date) -> bool:
    return certificate_problem(cert, on) is None


def certificate_failures(device_type: PhysicalDeviceType, smets1: bool, certs: list[CertificateFacts],
                         on: date) -> list[Failure]:
    """The certificate matrix, one certificate per kind, complete CPA details, and validity on ``on``."""
    out: list[Failure] = []
    kinds = [c.kind for c in certs]
    for kind in CertificateKind:
        if kinds.count(kind) > 1:
            out.append(fail("certificates", "certificate-kind", f"give one {kind.label} certificate, not "
                                                                f"{kinds.count(kind)}"))
    for kind in sorted(required_certificates(device_type, smets1) - set(kinds), key=list(CertificateKind).index):
        out.append(fail("certificates", "certificate-matrix", f"{article(device_type)} needs a {kind.label} "
                                                              "certificate"))
    for cert in certs:
        if not cert.number.strip():
            out.append(fail("certificates", "certificate-details", f"the {cert.kind.label} certificate needs a "
                                                                   "number"))
        if cert.kind is C and cert.expiry_date is None:
            out.append(fail("certificates", "certificate-details", f"CPA certificate {cert.number} needs its "
                                                                   "expiry (or renewal) date"))
        if cert.kind is C and cert.conditional and cert.conditional_date is None:
            out.append(fail("certificates", "certificate-details", f"conditional CPA certificate {cert.number} "
                                                                   "needs its conditional date"))
        problem = certificate_problem(cert, on)
        if problem:
            out.append(fail("certificates", "certificate-valid", problem))
    return out


# ---------------------------------------------------------------- submissions


@dataclass(frozen=True)
class SignatureFacts:
    """What the service found when it checked a submission's signature; these rules do no cryptography.

    The service (``cpl/signatures.py``) reads the certificates, verifies the chain and the signature and records
    each problem in words; the rules decide which field and which rule each problem is refused under.
    """

    signature: bool = False  # a signature was sent
    certificates: bool = False  # signer certificates were sent
    certificates_problem: str | None = None  # why they cannot be used at all (not PEM, not an ECDSA P-256 key)
    chain_problem: str | None = None  # why the signer's certificate does not chain to the trust anchor at the time
    signature_problem: str | None = None  # why the signature does not verify over the signed content
    signer: str | None = None  # the signer's certificate, in words: "CN (O)"
    signer_organisations: tuple[str, ...] = ()  # the O= of the signer's certificate
    submitter_organisations: tuple[str, ...] = ()  # the submitting organisation's name and short name


def _name_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def signature_failures(sig: SignatureFacts) -> list[Failure]:
    """A signature needs its certificate; the certificate must be usable, trusted and the submitting
    organisation's; the signature must verify over the submission's content (CPL Requirements 2(h))."""
    out: list[Failure] = []
    if not sig.signature and not sig.certificates:
        return out
    if not sig.certificates:
        return [fail("signer_certificates", "signature-complete", "a signed submission carries the signer's "
                                                                  "certificate (PEM), then any intermediate CA "
                                                                  "certificates")]
    if not sig.signature:
        out.append(fail("signature", "signature-complete", "signer certificates were given without a signature: "
                                                           "sign the submission, or leave both out"))
    if sig.certificates_problem:
        return out + [fail("signer_certificates", "signer-certificates", sig.certificates_problem)]
    if sig.chain_problem:
        out.append(fail("signer_certificates", "signer-trusted", f"the signer's certificate is not trusted: "
                                                                 f"{sig.chain_problem}"))
    wanted = {_name_key(n) for n in sig.submitter_organisations if n and n.strip()}
    found = [o for o in sig.signer_organisations if o.strip()]
    if not wanted:
        out.append(fail("signer_certificates", "signer-organisation", "the submitter belongs to no organisation, so "
                                                                      "no organisation certificate can sign for it"))
    elif not any(_name_key(o) in wanted for o in found):
        signer_org = f"'{found[0]}'" if found else "a certificate naming no organisation (O=)"
        out.append(fail("signer_certificates", "signer-organisation",
                        f"the submission is signed by {signer_org} but submitted by "
                        f"'{sig.submitter_organisations[0]}': sign it with that organisation's certificate"))
    if sig.signature and sig.signature_problem:
        out.append(fail("signature", "signature-valid", sig.signature_problem))
    return out


@dataclass(frozen=True)
class SubmissionFacts:
    """Everything the rules need to judge a submission; the service looks up what the database knows."""

    kind: SubmissionKind
    manufacturer: str
    model: str
    hardware_version: str
    firmware_version: str
    physical_device_type: str
    release_notes: str = ""
    technical_specification: str | None = None  # a name: SMETS1, SMETS2 or CHTS
    technical_specification_known: bool = True
    technical_specification_end_date: date | None = None
    gbcs_version: str | None = None
    gbcs_known: bool = True
    gbcs_end_date: date | None = None
    smets1: bool = False
    certificates: tuple[CertificateFacts, ...] = ()
    cpa_expiry: date | None = None
    image_creator: str | None = None
    image_hash: str | None = None
    signed: bool = False  # it carries a signature (or, for an entry already listed, is recorded as signed)
    signature_check: SignatureFacts | None = None  # None: not checked here (an entry already listed)
    mapping_evidence: str | None = None
    submitter_is_dcc: bool = False
    submitter_is_supplier: bool = False
    supplier_confirmation: str | None = None  # the confirming Supplier's name
    supplier_confirmation_is_supplier: bool = False
    already_listed: bool = False
    base_entry_exists: bool = True
    extra: dict = field(default_factory=dict)


def _required_fields(s: SubmissionFacts) -> list[Failure]:
    names = {"manufacturer": "(a) the Manufacturer", "model": "(a) the model", "hardware_version":
             "(b) the hardware version", "firmware_version": "(c) the firmware version", "release_notes":
             "(d) the Manufacturer Release Notes", "technical_specification": "(e) the technical specification"}
    return [fail(name, "required", f"{what} is required") for name, what in names.items()
            if not (getattr(s, name) or "").strip()]


def _device_type(s: SubmissionFacts) -> tuple[PhysicalDeviceType | None, list[Failure]]:
    try:
        device_type = PhysicalDeviceType(s.physical_device_type)
    except ValueError:
        allowed = ", ".join(t.value for t in LISTED_TYPES)
        return None, [fail("physical_device_type", "device-type-listed",
                           f"{s.physical_device_type!r} is not a Physical Device Type; use one of {allowed}")]
    if device_type in NOT_LISTED:
        return None, [fail("physical_device_type", "device-type-listed",
                           f"{article(device_type)} is not submitted to the CPL")]
    return device_type, []


def _versions(s: SubmissionFacts, device_type: PhysicalDeviceType, on: date) -> list[Failure]:
    out: list[Failure] = []
    spec = (s.technical_specification or "").strip()
    if spec:
        if not s.technical_specification_known:
            out.append(fail("technical_specification", "version-known", f"{spec} is not a technical specification "
                                                                        "version SECAS has recorded"))
        elif s.technical_specification_end_date is not None and s.technical_specification_end_date < on:
            out.append(fail("technical_specification", "version-current",
                            f"{spec} was end-dated on {s.technical_specification_end_date.isoformat()}"))
        name = spec.split()[0].upper()
        if device_type is PhysicalDeviceType.CH and name != "CHTS":
            out.append(fail("technical_specification", "specification-matches", "a Communications Hub is "
                                                                                "specified by CHTS"))
        if device_type is not PhysicalDeviceType.CH and name == "CHTS":
            out.append(fail("technical_specification", "specification-matches",
                            f"{article(device_type)} is specified by SMETS, not CHTS"))
        if s.smets1 != (name == "SMETS1"):
            out.append(fail("smets1", "specification-matches", "a SMETS1 entry is on a SMETS1 specification, and "
                                                               "only a SMETS1 entry is"))
    gbcs = (s.gbcs_version or "").strip()
    if not gbcs and not s.smets1:
        out.append(fail("gbcs_version", "version-known", "the GBCS version is required for SMETS2 and CHTS "
                                                         "Device Models"))
    elif gbcs and not s.gbcs_known:
        out.append(fail("gbcs_version", "version-known", f"GBCS v{gbcs} is not a GBCS version SECAS has recorded"))
    elif gbcs and s.gbcs_end_date is not None and s.gbcs_end_date < on:
        out.append(fail("gbcs_version", "version-current", f"GBCS v{gbcs} was end-dated on "
                                                           f"{s.gbcs_end_date.isoformat()}"))
    return out


def _submitter(s: SubmissionFacts) -> list[Failure]:
    out: list[Failure] = []
    if s.smets1 and not s.submitter_is_dcc:
        out.append(fail("smets1", "smets1-from-dcc", "only the DCC may submit a SMETS1 entry"))
    if s.kind is SubmissionKind.FIRMWARE_UPDATE:
        if not s.base_entry_exists:
            out.append(fail("firmware_version", "firmware-update-base",
                            f"a firmware update needs an entry for {s.manufacturer} {s.model} hardware "
                            f"{s.hardware_version} on another firmware version"))
        if not s.submitter_is_supplier:
            if not (s.supplier_confirmation or "").strip():
                out.append(fail("supplier_confirmation", "firmware-update-supplier-confirmation",
                                "a firmware update from a manufacturer needs a Supplier's confirmation that it is "
                                "in line with agreed maintenance plans"))
            elif not s.supplier_confirmation_is_supplier:
                out.append(fail("supplier_confirmation", "firmware-update-supplier-confirmation",
                                f"{s.supplier_confirmation} is not a Supplier"))
    return out


def _image(s: SubmissionFacts) -> list[Failure]:
    creator, digest = (s.image_creator or "").strip(), (s.image_hash or "").strip()
    out: list[Failure] = []
    if bool(creator) != bool(digest):
        missing = "image_hash" if creator else "image_creator"
        out.append(fail(missing, "manufacturer-image", "give both the Manufacturer Image's creator and its hash"))
    if digest and not IMAGE_HASH.match(digest):
        out.append(fail("image_hash", "manufacturer-image", "the Manufacturer Image hash is a SHA-256 digest: "
                                                            "64 hexadecimal characters"))
    if (creator or digest) and not s.signed:
        out.append(fail("signature", "manufacturer-image-signed", "this submission names a Manufacturer Image, so "
                                                                  "it must be digitally signed"))
    return out


def _mapping(s: SubmissionFacts) -> list[Failure]:
    differ = [c for c in s.certificates if c.firmware_version and c.firmware_version != s.firmware_version]
    if differ and not (s.mapping_evidence or "").strip():
        which = ", ".join(f"{c.kind.label} {c.number} (firmware {c.firmware_version})" for c in differ)
        return [fail("mapping_evidence", "mapping-evidence",
                     f"{which} certified another firmware version than {s.firmware_version}: give mapping evidence "
                     "that the certificate still maps to this firmware")]
    return []


def _cpa_expiry(s: SubmissionFacts) -> list[Failure]:
    cpa = next((c for c in s.certificates if c.kind is C), None)
    if s.cpa_expiry and cpa and cpa.expiry_date and s.cpa_expiry != cpa.expiry_date:
        return [fail("cpa_expiry", "cpa-expiry-matches", f"the CPA expiry {s.cpa_expiry.isoformat()} differs from "
                                                         f"certificate {cpa.number}'s {cpa.expiry_date.isoformat()}")]
    return []


def validate_submission(s: SubmissionFacts, on: date) -> list[Failure]:
    """Every reason to refuse ``s`` on ``on``, each naming the field and the rule; empty means valid."""
    out = _required_fields(s)
    device_type, type_failures = _device_type(s)
    out += type_failures
    if device_type is None:
        return out
    if s.already_listed:
        out.append(fail("device_model", "device-model-unique", f"{s.manufacturer} {s.model} hardware "
                                                               f"{s.hardware_version} firmware {s.firmware_version} "
                                                               "is already on the CPL"))
    out += _versions(s, device_type, on)
    out += certificate_failures(device_type, s.smets1, list(s.certificates), on)
    out += _cpa_expiry(s)
    out += _submitter(s)
    out += _mapping(s)
    out += _image(s)
    if s.signature_check is not None:
        unsigned_image = any(f.rule == "manufacturer-image-signed" for f in out)
        out += [f for f in signature_failures(s.signature_check)
                if not (unsigned_image and (f.field, f.rule) == ("signature", "signature-complete"))]
    return out


# ---------------------------------------------------------------- expiry notices and removals


def add_months(d: date, months: int) -> date:
    """``d`` moved by whole calendar months, clamped to the end of a shorter month."""
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(d.day, calendar.monthrange(year, month + 1)[1]))


def notice_due_on(cpa_expiry: date, kind: NoticeKind) -> date:
    return add_months(cpa_expiry, -kind.months)


def notices_due(cpa_expiry: date, today: date, sent: set[NoticeKind] | frozenset[NoticeKind]) -> list[NoticeKind]:
    """The notice to send today, if any: 12 months ahead, then 6 (seed 004). Inside six months the 12-month
    notice is not sent late: the 6-month notice supersedes it. Nothing once the certificate has expired."""
    if today > cpa_expiry:
        return []
    if today >= notice_due_on(cpa_expiry, NoticeKind.SIX_MONTHS):
        return [] if NoticeKind.SIX_MONTHS in sent else [NoticeKind.SIX_MONTHS]
    if today >= notice_due_on(cpa_expiry, NoticeKind.TWELVE_MONTHS) and NoticeKind.TWELVE_MONTHS not in sent:
        return [NoticeKind.TWELVE_MONTHS]
    return []


def cpa_expired(cpa_expiry: date | None, today: date) -> bool:
    return cpa_expiry is not None and today > cpa_expiry


def removal_takes_effect_on(effective_on: date, grace_until: date | None) -> date:
    """A removal takes effect on its date, or the day after its grace period ends (seed 000: three more months)."""
    return grace_until + timedelta(days=1) if grace_until else effective_on


def removal_failures(minute_reference: str | None, reason: str | None, effective_on: date,
                     grace_until: date | None) -> list[Failure]:
    out: list[Failure] = []
    if not (minute_reference or "").strip():
        out.append(fail("minute_reference", "removal-minute", "cite the Panel minute that decided the removal"))
    if not (reason or "").strip():
        out.append(fail("reason", "removal-minute", "say why the entry is removed"))
    if grace_until is not None and grace_until < effective_on:
        out.append(fail("grace_until", "removal-dates", f"the grace period cannot end ({grace_until.isoformat()}) "
                                                        f"before the removal date ({effective_on.isoformat()})"))
    return out


def removal_problems(certs: list[CertificateFacts], on: date) -> list[str]:
    """Why an Active entry should come off the CPL on ``on`` (revoked or lapsed certificates), for the Panel."""
    return [problem for c in certs if certificate_state(c, on) in ("revoked", "lapsed")
            if (problem := certificate_problem(c, on)) is not None]
