"""Demo Central Products List, loaded idempotently: technical specification and GBCS versions, 21 Device Models
across every listed Physical Device Type with their certificates, one conditional CPA, the L+G GSME whose CPA
Certificate was withdrawn in 2019 with its scheduled removal (seed 000), SMETS1 entries submitted by the DCC, and
two submissions for the approvals queue.

Manufacturers are those the seeds name (L+G, WNC, Aclara, Itron, Honeywell Elster) plus the fictional "Demo Meters
Ltd". Model names and certificate numbers are invented for the demo and are not real products or certificates.
Run it after the main demo (``gbsmart.demo.loader.load_demo``); a second run adds nothing.

The one entry naming a Manufacturer Image (Demo Meters Ltd DM-P1) is signed for real when a test PKI exists
(``gbsmart pki init-test`` before ``gbsmart demo``): its manufacturer gets an organisation certificate and signs the
entry's submission content as ``gbsmart cpl sign-submission`` would. Without a PKI the entry is listed with
``signed`` true and no signature: "signed, as recorded", as for an entry already on the list SECAS loads from its
workbook. gbsmart never stores a signature that would not verify.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from gbsmart.core.audit import record_change
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.signing import SigningError, TestPki, certificate_pem, load_certificate, sign
from gbsmart.cpl import rules, service, signatures
from gbsmart.cpl.enums import EntryStatus
from gbsmart.cpl.schemas import SubmissionCreate
from gbsmart.demo.loader import LoadReport
from gbsmart.models.cpl import GbcsVersion, Submission, TechnicalSpecification
from gbsmart.models.parties import Organisation
from gbsmart.parties.service import find_organisation

S000 = "seed 000 (Panel Sub-Committee Report SECP_77_1402_19, 7 Feb 2020), section 3.5 CPA remediation"
SPECS = [("SMETS2", "4.0", None), ("SMETS2", "4.1", None), ("SMETS2", "4.2", None), ("CHTS", "1.0", None),
         ("CHTS", "1.1", None), ("CHTS", "1.2", None), ("SMETS1", "1.2", None)]
GBCS = [("1.0", date(2019, 12, 31), "End-dated: entries still on v1.0 need action (demo)."),
        ("1.1", None, "Seed 004: not at first recognised by the DCC's DSP systems, which blocked uploads."),
        ("2.0", None, ""), ("3.0", None, "")]
ORGS = {"L+G": "other", "WNC": "other", "Aclara": "other", "Itron": "other", "Honeywell Elster": "other",
        "Demo Meters Ltd": "other", "Demo Large Supplier plc": "large_supplier"}
NOTES = "Demo data: an invented Device Model, not a real product."


def _c(kind: str, number: str, **kw: Any) -> dict[str, Any]:
    return {"kind": kind, "number": number, "issued_on": kw.pop("issued", "2019-03-01"), **kw}


def _models(today: date) -> list[dict[str, Any]]:
    """The demo Device Models: (manufacturer, model, hw, fw, type, spec, gbcs, certificates, extras)."""
    soon = (today + timedelta(days=200)).isoformat()
    conditional = (today + timedelta(days=150)).isoformat()
    z, d, c = "zigbee", "dlms", "cpa"
    rows: list[dict[str, Any]] = [
        {"m": "WNC", "model": "CH-DEMO-SKU1", "hw": "1.0", "fw": "2.02.5", "t": "CH", "spec": "CHTS v1.2",
         "certs": [_c(z, "ZIG-DEMO-1001", firmware_version="2.02.5"),
                   _c(c, "CPA-DEMO-2001", expiry_date="2028-03-01")]},
        {"m": "WNC", "model": "CH-DEMO-SKU1", "hw": "1.0", "fw": "2.02.6", "t": "CH", "spec": "CHTS v1.2",
         "certs": [_c(z, "ZIG-DEMO-1001"), _c(c, "CPA-DEMO-2001")],
         "mapping": "Seed 003: v2.02.6 fixes the 8F3E alerts; the HAN stack ZigBee certified for v2.02.5 is "
                    "unchanged."},
        {"m": "L+G", "model": "E-DEMO-1P", "hw": "A", "fw": "1.0", "t": "ESME_SINGLE", "gbcs": "1.0",
         "certs": [_c(z, "ZIG-DEMO-1101"), _c(d, "DLMS-DEMO-3101"), _c(c, "CPA-DEMO-2101", expiry_date="2027-05-31")]},
        {"m": "L+G", "model": "E-DEMO-1P", "hw": "A", "fw": "1.1", "t": "ESME_SINGLE",
         "certs": [_c(z, "ZIG-DEMO-1102"), _c(d, "DLMS-DEMO-3102"), _c(c, "CPA-DEMO-2102", expiry_date="2029-05-31")]},
        {"m": "L+G", "model": "G-DEMO-4", "hw": "B", "fw": "1.0", "t": "GSME", "withdrawn": True,
         "certs": [_c(z, "ZIG-DEMO-1103"), _c(c, "CPA-DEMO-2103", issued="2017-06-01", expiry_date="2023-06-01")]},
        {"m": "L+G", "model": "G-DEMO-4", "hw": "B", "fw": "2.0", "t": "GSME",
         "certs": [_c(z, "ZIG-DEMO-1104"), _c(c, "CPA-DEMO-2104", issued="2020-01-10", expiry_date="2030-01-10")]},
        {"m": "Itron", "model": "ITR-DEMO-E1", "hw": "2", "fw": "3.4", "t": "ESME_SINGLE",
         "certs": [_c(z, "ZIG-DEMO-1201"), _c(d, "DLMS-DEMO-3201"), _c(c, "CPA-DEMO-2201", expiry_date="2028-11-30")]},
        {"m": "Itron", "model": "ITR-DEMO-E3", "hw": "2", "fw": "3.4", "t": "ESME_POLYPHASE",
         "certs": [_c(z, "ZIG-DEMO-1202"), _c(d, "DLMS-DEMO-3202"), _c(c, "CPA-DEMO-2202", expiry_date="2028-11-30")]},
        {"m": "Itron", "model": "ITR-DEMO-G1", "hw": "1", "fw": "5.0", "t": "GSME",
         "certs": [_c(z, "ZIG-DEMO-1203"), _c(c, "CPA-DEMO-2203", expiry_date="2029-02-28")]},
        {"m": "Aclara", "model": "ACL-DEMO-E2", "hw": "C", "fw": "1.7", "t": "ESME_TWIN",
         "certs": [_c(z, "ZIG-DEMO-1301"), _c(d, "DLMS-DEMO-3301"), _c(c, "CPA-DEMO-2301", expiry_date="2027-09-30")]},
        {"m": "Aclara", "model": "ACL-DEMO-P1", "hw": "C", "fw": "1.2", "t": "PPMID",
         "certs": [_c(z, "ZIG-DEMO-1302")]},
        {"m": "Demo Meters Ltd", "model": "DM-E1", "hw": "1", "fw": "1.0.0", "t": "ESME_SINGLE", "certs": [
            _c(z, "ZIG-DEMO-1401"), _c(d, "DLMS-DEMO-3401"), _c(c, "CPA-DEMO-2401", issued="2022-02-01",
                                                               expiry_date="2030-02-01", conditional=True,
                                                               conditional_date=conditional)]},
        {"m": "Demo Meters Ltd", "model": "DM-E2", "hw": "1", "fw": "1.0.0", "t": "ESME_TWIN",
         "certs": [_c(z, "ZIG-DEMO-1402"), _c(d, "DLMS-DEMO-3402"), _c(c, "CPA-DEMO-2402", expiry_date="2028-01-31")]},
        {"m": "Demo Meters Ltd", "model": "DM-E3", "hw": "1", "fw": "1.0.0", "t": "ESME_POLYPHASE",
         "certs": [_c(z, "ZIG-DEMO-1403"), _c(d, "DLMS-DEMO-3403"), _c(c, "CPA-DEMO-2403", expiry_date="2028-01-31")]},
        {"m": "Demo Meters Ltd", "model": "DM-G1", "hw": "1", "fw": "1.0.0", "t": "GSME",
         "certs": [_c(z, "ZIG-DEMO-1404"), _c(c, "CPA-DEMO-2404", expiry_date=soon)]},
        {"m": "Demo Meters Ltd", "model": "DM-G0", "hw": "0", "fw": "0.9.0", "t": "GSME", "spec": "SMETS2 v4.0",
         "certs": [_c(z, "ZIG-DEMO-1405", issued="2017-01-05"), _c(c, "CPA-DEMO-2405", issued="2017-01-05",
                                                                   expiry_date="2021-03-31")]},
        {"m": "Demo Meters Ltd", "model": "DM-P1", "hw": "1", "fw": "1.0.0", "t": "PPMID",
         "certs": [_c(z, "ZIG-DEMO-1406")], "image": ("Demo Meters Ltd build service", "5e" * 32)},
        {"m": "Demo Meters Ltd", "model": "DM-H1", "hw": "1", "fw": "1.0.0", "t": "HCALCS",
         "certs": [_c(z, "ZIG-DEMO-1407"), _c(c, "CPA-DEMO-2407", issued="2022-06-01", expiry_date="2031-06-01")]},
    ]
    smets1 = [("Honeywell Elster", "HE-DEMO-S1E", "ESME_SINGLE", [_c(z, "ZIG-DEMO-S1-01"), _c(d, "DLMS-DEMO-S1-01")]),
              ("Aclara", "ACL-DEMO-S1G", "GSME", [_c(z, "ZIG-DEMO-S1-02")]),
              ("Itron", "ITR-DEMO-S1G", "GSME", [_c(z, "ZIG-DEMO-S1-03")])]
    rows += [{"m": m, "model": model, "hw": "1", "fw": "1.0", "t": t, "spec": "SMETS1 v1.2", "gbcs": None,
              "smets1": True, "certs": certs} for m, model, t, certs in smets1]
    return rows


class _Loader:
    def __init__(self, ctx: Ctx, report: LoadReport) -> None:
        self.ctx, self.s, self.report = ctx, ctx.session, report
        self.system = Ctx(session=ctx.session, actor=Actor.system("cpl-demo"), clock=ctx.clock,
                          settings=ctx.settings, request_id=ctx.request_id)

    def org(self, name: str, kind: str = "sec_party", category: str | None = None) -> Organisation:
        found = find_organisation(self.s, name)
        if found is None:
            found = Organisation(name=name, kind=kind, party_category=category, created_at=self.ctx.clock.now(),
                                 source="CPL demo (gbsmart.cpl.demo)")
            self.s.add(found)
            self.s.flush()
        return found

    def versions(self) -> None:
        for name, version, end in SPECS:
            found = service.find_spec(self.s, f"{name} v{version}")
            if found is None:
                self.s.add(TechnicalSpecification(name=name, version=version, end_date=end, note="demo"))
            self.report.tally("CPL technical specifications", found is None)
        for version, end, note in GBCS:
            found = service.find_gbcs(self.s, version)
            if found is None:
                self.s.add(GbcsVersion(version=version, end_date=end, note=note))
            self.report.tally("CPL GBCS versions", found is None)
        self.s.flush()

    def entry(self, row: dict[str, Any]) -> None:
        found = service.find_entry(self.s, row["m"], row["model"], row["hw"], row["fw"])
        self.report.tally("CPL entries", found is None)
        if found is not None:
            return
        data = SubmissionCreate(
            manufacturer=row["m"], model=row["model"], hardware_version=row["hw"], firmware_version=row["fw"],
            physical_device_type=row["t"], release_notes=f"Release {row['fw']}. {NOTES}",
            technical_specification=row.get("spec", "SMETS2 v4.1"), gbcs_version=row.get("gbcs", "2.0"),
            smets1=row.get("smets1", False), certificates=row["certs"], mapping_evidence=row.get("mapping"),
            image_creator=row["image"][0] if "image" in row else None,
            image_hash=row["image"][1] if "image" in row else None)
        if data.smets1:
            self.smets1(data)
            return
        org = self.org(row["m"], category=ORGS.get(row["m"]))
        signature, signer_certificates = self.signed_by(org, data) if "image" in row else (None, None)
        entry = service.add_entry(self.system, service.NewEntry(
            data=data, spec=service.find_spec(self.s, data.technical_specification),
            gbcs=service.find_gbcs(self.s, data.gbcs_version), status=EntryStatus.ACTIVE,
            status_since=self.ctx.clock.today(), submitter_org=org, submitter_name=org.name,
            signature=signature, signer_certificates=signer_certificates, signed="image" in row),
            "approve", f"Listed Active by SECAS on behalf of the Panel (demo data). {NOTES}")
        if row.get("withdrawn"):
            service.revoke_certificate(self.system, "cpa", "CPA-DEMO-2103", "CPA Certificate withdrawn in 2019; "
                                       f"firmware remediation plans monitored by the SSC ({S000})", date(2019, 9, 30))
            # the seed says "8 April 2010", evidently 2020 (the report is dated 7 February 2020)
            service.remove_entry(self.system, entry, "SECP_77_1402_19 section 3.5 (SSC: CPA remediation)",
                                 "CPA Certificate withdrawn in 2019; Suppliers to upgrade or replace the Devices",
                                 effective_on=date(2020, 4, 8), grace_until=date(2020, 7, 8))

    def signed_by(self, org: Organisation, data: SubmissionCreate) -> tuple[bytes | None, str | None]:
        """(signature, signer PEM) made with a fresh organisation certificate for ``org`` from the test PKI, checked
        as a submission's would be; (None, None) when there is no PKI: the entry is then "signed, as recorded"."""
        pki = TestPki(self.ctx.settings.resolved_pki_dir())
        if not (pki.organisation_ca_key.exists() and pki.organisation_ca_certificate.exists()):
            return None, None
        now = self.ctx.clock.now()
        try:
            key, cert = pki.issue_organisation_certificate(org.name, now=now, organisation=org.name)
            pem = certificate_pem(cert, load_certificate(pki.organisation_ca_certificate))
        except SigningError:  # an unreadable PKI: the demo does without
            return None, None
        signature = sign(key, signatures.signed_bytes(data))
        check = signatures.check_signature(data, signature, pem, settings=self.ctx.settings, at=now,
                                           submitter_names=(org.name,))
        if rules.signature_failures(check):  # e.g. GBSMART_CPL_TRUST_ANCHOR names another PKI's root
            return None, None
        return signature, pem

    def smets1(self, data: SubmissionCreate) -> None:
        """SMETS1 entries come only from the DCC (seed 004): submitted as the DCC, approved by SECAS."""
        dcc = self.org("Smart DCC", kind="dcc")
        as_dcc = Ctx(session=self.s, actor=Actor(person_id=None, username="dcc", name="Smart DCC",
                                                 roles=frozenset({"dcc"}), organisation_id=dcc.id),
                     clock=self.ctx.clock, settings=self.ctx.settings)
        sub = service.submit(as_dcc, data)
        if sub.status == "validated":
            service.approve(self.system, sub.id)

    def queue(self) -> None:
        """A firmware update awaiting SECAS, and an IHD refused (IHDs are not submitted to the CPL)."""
        self.org("Demo Large Supplier plc", category="large_supplier")
        maker = self.org("Demo Meters Ltd", category="other")
        as_maker = Ctx(session=self.s, actor=Actor(person_id=None, username="demo-meters", name="Demo Meters Ltd",
                                                   roles=frozenset({"party_user"}), organisation_id=maker.id),
                       clock=self.ctx.clock, settings=self.ctx.settings)
        pending = [
            {"kind": "firmware_update", "manufacturer": "Demo Meters Ltd", "model": "DM-H1", "hardware_version": "1",
             "firmware_version": "1.1.0", "physical_device_type": "HCALCS", "technical_specification": "SMETS2 v4.1",
             "gbcs_version": "2.0", "release_notes": f"Fixes load-switch timing. {NOTES}",
             "certificates": [{"kind": "zigbee", "number": "ZIG-DEMO-1407"}, {"kind": "cpa", "number":
                                                                               "CPA-DEMO-2407"}],
             "supplier_confirmation": {"supplier": "Demo Large Supplier plc", "confirmed_by": "Lee Large",
                                       "reference": "In line with the agreed maintenance plan (demo)."}},
            {"manufacturer": "Demo Meters Ltd", "model": "DM-IHD", "hardware_version": "1", "firmware_version": "1.0",
             "physical_device_type": "IHD", "technical_specification": "SMETS2 v4.1", "gbcs_version": "2.0",
             "release_notes": NOTES, "certificates": [{"kind": "zigbee", "number": "ZIG-DEMO-1499"}]},
        ]
        for p in pending:
            found = self.s.scalar(select(Submission.id).where(
                Submission.manufacturer == p["manufacturer"], Submission.model == p["model"],
                Submission.firmware_version == p["firmware_version"]))
            if found is None:
                service.submit(as_maker, SubmissionCreate.model_validate(p))
            self.report.tally("CPL submissions", found is None)


def load_cpl_demo(ctx: Ctx, report: LoadReport | None = None) -> LoadReport:
    """Insert the demo CPL where missing, then run the lifecycle once; a second run adds nothing."""
    report = report if report is not None else LoadReport()
    before = {k: v[0] for k, v in report.counts.items()}
    loader = _Loader(ctx, report)
    loader.versions()
    for row in _models(ctx.clock.today()):
        loader.entry(row)
    loader.queue()
    ctx.session.flush()
    service.run_lifecycle(loader.system)
    added = {k: v[0] - before.get(k, 0) for k, v in report.counts.items() if v[0] - before.get(k, 0)}
    if added:
        record_change(ctx, "demo.load", "dataset", "cpl (seeds 000, 004)", None, added)
    return report
