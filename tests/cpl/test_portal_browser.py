"""Issue 4's journey through the portal, in a real browser: from a new Device Model to a Suspended device.

A fresh SQLite database with a test PKI (what ``gbsmart pki init-test`` makes, in the settings' data dir), a CPL
long enough to page, and a few dozen IHDs in the SMI. Then, each person in a browser context of their own and
working only through what they see: a manufacturer submits a Device Model (first without the DLMS certificate an
ESME needs, and is told so beside the field); SECAS approves it, finds it in the CPL browser by search and filters,
reads its certificates and CPA expiry timeline, and issues a signed extract; the DCC downloads the extract and
uploads it on /cpl/extracts, adds a device of the new model in the SMI and commissions it; SECAS removes the model
citing the Panel minute and issues the next extract; the DCC applies it and the device is Suspended, with its status
history and the DeviceSuspended alerts to its Supplier and Network Operator; a tampered file and a replayed one are
refused and change nothing. Along the way: SMI search by Device ID and MPxN, the counts table, and keyset "Next
page" links on /cpl and /smi.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import gbsmart.models.extracts  # noqa: F401 - registers cpl_extracts
import gbsmart.models.smi  # noqa: F401 - registers the SMI tables
from gbsmart.config import Settings
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.db import Base, make_engine, make_sessionmaker
from gbsmart.core.security import hash_password
from gbsmart.core.signing import create_test_pki
from gbsmart.cpl import service as cpl_service
from gbsmart.cpl.extracts import canonical_json
from gbsmart.cpl.schemas import SubmissionCreate
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.cpl import GbcsVersion, TechnicalSpecification
from gbsmart.models.parties import Organisation, Person, PersonRole
from gbsmart.models.smi import SmiDevice, SmiDeviceEvent, SmiDeviceModel, SmiExtractApplication, SmiStatusHistory
from gbsmart.smi import service as smi_service
from gbsmart.smi.registration import write_registration
from gbsmart.smi.schemas import DeviceCreate
from tests.conftest import TEST_PASSWORD, World

pytestmark = pytest.mark.browser

BULK = 55  # CPL entries and IHDs made in set-up: more than one page (50) of each
MPAN = "1012345678901"  # the premises where the DCC installs the new meter; an IHD is there already
NEW_DEVICE = "00-0D-6F-00-00-AB-CD-01"
MINUTE = "SECP_80_2405_20 item 4"


@functools.cache
def _password_hash() -> str:
    return hash_password(TEST_PASSWORD)  # slow by design: once per run


@dataclass
class Site:
    url: str
    session: Session
    settings: Settings
    new_page: Callable[..., Page]
    downloads: Path
    pages: dict[str, Page] = field(default_factory=dict)

    def sign_in(self, username: str, path: str) -> Page:
        """``username``'s own browser context, signed in, showing ``path``."""
        page = self.pages.get(username)
        if page is None:
            page = self.pages[username] = self.new_page()
            page.goto(f"{self.url}/login?next={path}")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(TEST_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        page.goto(self.url + path)
        return page

    def state(self) -> dict:
        """Everything applying an extract could change (committed rows), to show a refusal changed nothing."""
        s = self.session
        s.rollback()

        def count(model) -> int:
            return s.scalar(select(func.count()).select_from(model))

        out = {"models": sorted(s.execute(select(SmiDeviceModel.model, SmiDeviceModel.status)).all()),
               "devices": sorted(s.execute(select(SmiDevice.device_id, SmiDevice.smi_status)).all()),
               "applications": count(SmiExtractApplication), "history": count(SmiStatusHistory),
               "events": count(SmiDeviceEvent), "audit": count(ChangeRecord)}
        s.rollback()  # end the read transaction
        return out


def _person(session: Session, clock, username: str, role: str, org: Organisation) -> Person:
    p = Person(username=username, full_name=username.title(), organisation_id=org.id, password_hash=_password_hash(),
               created_at=clock.now(), role_rows=[PersonRole(role=role)])
    session.add(p)
    session.commit()
    return p


def _bulk_cpl(ctx: Ctx) -> None:
    """BULK PPMID entries of another manufacturer, submitted and approved through the service (set-up)."""
    for n in range(BULK):
        sub = cpl_service.submit(ctx, SubmissionCreate.model_validate({
            "kind": "new_entry", "manufacturer": "Bulk Meters Ltd", "model": f"BM-P{n:02d}", "hardware_version": "1",
            "firmware_version": "1.0", "physical_device_type": "PPMID", "release_notes": "Bulk entry.",
            "technical_specification": "SMETS2 v4.1", "gbcs_version": "2.0",
            "certificates": [{"kind": "zigbee", "number": f"ZIG-BM-{n:02d}", "issued_on": "2019-06-01"}]}))
        assert sub.status == "validated", [f.message for f in sub.failures]
        cpl_service.approve(ctx, sub.id)


def _ihds(ctx: Ctx) -> None:
    """BULK IHDs (no Device Model needed), the first at MPAN; they are never suspended."""
    for n in range(BULK):
        smi_service.add_device(ctx, DeviceCreate(
            device_id=f"00-0D-6F-00-00-00-10-{n:02X}", device_type="IHD", smi_status="Commissioned",
            mpxn=MPAN if n == 0 else str(1_100_000_000_000 + n)))


@pytest.fixture
def site(tmp_path, clock, live_server, new_page) -> Iterator[Site]:
    db_url = f"sqlite:///{tmp_path / 'portal.db'}"
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, secret_key="test-secret-key-not-for-production")
    create_test_pki(settings.resolved_pki_dir(), now=clock.now())  # = `gbsmart pki init-test` into data_dir/pki
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    session = make_sessionmaker(engine)()
    world = World(session, clock)
    orgs = {"secas": world.org("SECAS", kind="secas"), "dcc": world.org("Smart DCC", kind="dcc"),
            "maker": world.org("Demo Meters Ltd", category="other"),
            "supplier": world.org("Big Energy plc", category="large_supplier"),
            "network": world.org("Wires North", category="electricity_network")}
    for username, role in (("secas", "code_administrator"), ("dcc", "dcc"), ("maker", "party_user")):
        _person(session, clock, username, role, orgs[username])
    session.add_all([TechnicalSpecification(name="SMETS2", version="4.1"), GbcsVersion(version="2.0")])
    session.commit()
    system = Ctx(session=session, actor=Actor.system("set-up"), clock=clock, settings=settings)
    _bulk_cpl(system)
    _ihds(system)
    write_registration(system, mpxn=int(MPAN), fuel="E", supplier_org_id=orgs["supplier"].id,
                                 network_operator_org_id=orgs["network"].id, valid_from=date(2019, 1, 1))
    session.commit()
    url = live_server(settings, clock=clock)
    try:
        yield Site(url=url, session=session, settings=settings, new_page=new_page, downloads=tmp_path / "downloads")
    finally:
        session.close()
        engine.dispose()


# ------------------------------------------------------------------------------------------ steps


def download_extract(site: Site, page: Page, sequence: int) -> Path:
    """Download extract ``sequence`` from its link in the history table, as the DCC receives it."""
    with page.expect_download() as info:
        page.locator(f"#extract-{sequence}").get_by_role("link", name=str(sequence), exact=True).click()
    path = site.downloads / info.value.suggested_filename
    info.value.save_as(path)
    assert path.name == f"cpl-extract-{sequence}.json"
    return path


def upload_extract(page: Page, path: Path) -> None:
    form = page.locator("#apply-form")
    form.get_by_label("Signed extract file").set_input_files(path)
    form.get_by_role("button", name="Verify and apply").click()


def issue_extract(page: Page, sequence: int) -> None:
    page.get_by_role("button", name="Issue next extract").click()
    expect(page.get_by_role("status")).to_have_text(f"CPL extract {sequence} issued and signed.")


def fill_submission(page: Page, **extra: str) -> None:
    page.get_by_label("Physical Device Type").select_option("ESME_SINGLE")
    page.get_by_label("(a) Manufacturer").fill("Demo Meters Ltd")
    page.get_by_label("(a) Model").fill("DM-E9")
    page.get_by_label("(b) Hardware version").fill("A1")
    page.get_by_label("(c) Firmware version").fill("1.0.0")
    page.get_by_label("(d) Manufacturer Release Notes").fill("First release of the DM-E9 single element meter.")
    page.get_by_label("(e) Technical specification").select_option("SMETS2 v4.1")
    page.get_by_label("(e) GBCS version").select_option("2.0")
    page.get_by_label("ZigBee certificate number").fill("ZIG-E9")
    page.get_by_label("CPA certificate number").fill("CPA-E9")
    page.get_by_label("Expiry (renewal) date").fill("2024-06-30")
    for label, value in extra.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Submit", exact=True).click()


def cpl_models(page: Page) -> list[str]:
    return page.locator("#cpl-entries tbody tr td:nth-child(2)").all_inner_texts()


# ------------------------------------------------------------------------------------------ the journey


def test_a_device_model_from_submission_to_suspended_devices(site: Site) -> None:
    # -- a manufacturer submits a new Device Model; the form names the field that is wrong ---------------
    maker = site.sign_in("maker", "/cpl/submit")
    fill_submission(maker)  # an ESME with no DLMS certificate
    expect(maker.locator("#submit-error")).to_contain_text("was refused: 1 rule not met. The refusal is kept")
    expect(maker.locator("#err-certificates")).to_contain_text("an ESME needs a DLMS certificate")
    expect(maker.get_by_label("(a) Model")).to_have_value("DM-E9")  # what was typed is kept
    fill_submission(maker, **{"DLMS certificate number": "DLMS-E9"})
    expect(maker).to_have_url(re.compile(r"/cpl/approvals\?submitted=\d+$"))
    expect(maker.get_by_role("status")).to_contain_text("passed every rule and awaits SECAS's approval")
    expect(maker.locator("#queue")).to_contain_text("Only the Code Administrator (SECAS) approves")
    expect(maker.locator("#queue").get_by_role("button", name="Approve")).to_have_count(0)
    maker.goto(site.url + "/cpl/extracts")
    expect(maker.locator("#apply")).to_have_count(0)  # neither issuing nor applying is for a Party
    expect(maker.get_by_role("button", name="Issue next extract")).to_have_count(0)

    # -- SECAS approves it and finds it in the CPL browser -------------------------------------------------
    secas = site.sign_in("secas", "/cpl/approvals")
    row = secas.locator("#queue tbody tr", has_text="DM-E9")
    expect(row).to_contain_text("Demo Meters Ltd")
    row.get_by_role("button", name="Approve").click()
    expect(secas).to_have_url(re.compile(r"/cpl/entries/\d+\?done=approved$"))
    entry_url = secas.url.split("?")[0]
    expect(secas.locator("main .badge").first).to_have_text("Active")

    secas.goto(site.url + "/cpl")
    expect(secas.locator("#cpl-entries tbody tr")).to_have_count(50)  # one page of BULK + 1
    first_page = cpl_models(secas)
    secas.locator("#next-page").click()
    expect(secas).to_have_url(re.compile(r"/cpl\?cursor="))
    expect(secas.locator("#cpl-entries tbody tr")).to_have_count(BULK + 1 - 50)
    expect(secas.locator("#next-page")).to_have_count(0)
    assert not set(first_page) & set(cpl_models(secas))  # keyset: no row twice

    secas.goto(site.url + "/cpl")
    secas.locator("#q").press_sequentially("E9")  # htmx: the rows follow the search box
    expect(secas.locator("#cpl-entries tbody tr")).to_have_count(1)
    expect(secas.locator("#cpl-entries")).to_contain_text("DM-E9")
    secas.locator("select[name=type]").select_option("ESME_SINGLE")
    secas.locator("select[name=manufacturer]").select_option("Demo Meters Ltd")
    secas.locator("select[name=status]").select_option("Active")
    expect(secas).to_have_url(re.compile(r"type=ESME_SINGLE.*manufacturer=Demo.*status=Active"))
    expect(secas.locator("#cpl-entries tbody tr")).to_have_count(1)
    secas.locator("select[name=status]").select_option("Withdrawn")
    expect(secas.locator("#cpl-entries")).to_contain_text("No CPL entries match these filters.")
    secas.locator("select[name=status]").select_option("Active")
    secas.locator("select[name=type]").select_option("PPMID")
    expect(secas.locator("#cpl-entries")).to_contain_text("No CPL entries match these filters.")
    secas.locator("select[name=type]").select_option("ESME_SINGLE")
    secas.locator("#cpl-entries").get_by_role("link", name="DM-E9").click()
    expect(secas).to_have_url(entry_url)
    certificates = secas.locator("#certificates")
    for number in ("ZIG-E9", "DLMS-E9", "CPA-E9"):
        expect(certificates).to_contain_text(number)
    expect(certificates.locator("tr", has_text="DLMS-E9")).to_contain_text("does not expire")
    expect(certificates.locator("tr", has_text="CPA-E9")).to_contain_text("30 Jun 2024")
    timeline = secas.locator("#expiry-timeline")
    for label in ("12-month notice", "6-month notice", "Today"):
        expect(timeline.locator("svg")).to_contain_text(label)

    # -- SECAS issues extract 1; the DCC downloads it and applies it on the same page -----------------------
    secas.goto(site.url + "/cpl/extracts")
    issue_extract(secas, 1)
    expect(secas.locator("#extract-1")).to_contain_text("not yet")

    dcc = site.sign_in("dcc", "/cpl/extracts")
    expect(dcc.get_by_role("button", name="Issue next extract")).to_have_count(0)
    first = download_extract(site, dcc, 1)
    upload_extract(dcc, first)
    report = dcc.locator("#apply-report")
    expect(report).to_contain_text("CPL extract 1 verified and applied to the SMI.")
    expect(report).to_contain_text("SECAS (on behalf of the SEC Panel)")
    expect(report.locator("tr", has_text="Models added")).to_contain_text(str(BULK + 1))
    expect(dcc.locator("#report-suspended")).to_have_text("0")
    expect(dcc.locator("#extract-1 td").nth(6)).not_to_contain_text("not yet")

    # -- the DCC adds a device of the new model at the premises and commissions it ---------------------------
    dcc.goto(site.url + "/smi")
    add = dcc.locator("#add-device")
    add.get_by_label("Device ID (EUI-64)").fill(NEW_DEVICE)
    add.get_by_label("Device Type").select_option("ESME")
    add.get_by_label("Device Model").select_option(label="Demo Meters Ltd DM-E9 (HW A1, FW 1.0.0)")
    add.get_by_label("SMI Status").select_option("InstalledNotCommissioned")
    add.get_by_label("MPxN").fill("12345")  # too short: refused beside the field, nothing added
    add.get_by_role("button", name="Add device").click()
    expect(dcc.locator("#add-error")).to_contain_text("Nothing was added")
    expect(dcc.locator("#err-mpxn")).to_contain_text("mpxn: give an MPAN core (13 digits) or an MPRN")
    add = dcc.locator("#add-device")
    expect(add.get_by_label("Device ID (EUI-64)")).to_have_value(NEW_DEVICE)
    add.get_by_label("MPxN").fill(MPAN)
    add.get_by_role("button", name="Add device").click()
    expect(dcc).to_have_url(f"{site.url}/smi/devices/{NEW_DEVICE}?done=added")
    expect(dcc.locator("h1 .badge")).to_have_text("Installed, not commissioned")
    expect(dcc.locator("#device")).to_contain_text("Demo Meters Ltd DM-E9, hardware A1, firmware 1.0.0 — Active")
    dcc.get_by_role("button", name="Commission").click()
    expect(dcc.get_by_role("status")).to_have_text("Done: commissioned.")
    expect(dcc.locator("h1 .badge")).to_have_text("Commissioned")

    # -- SMI search by Device ID and by MPxN; keyset pages of devices --------------------------------------
    dcc.goto(site.url + "/smi")
    dcc.get_by_label("Device ID or MPxN").fill(NEW_DEVICE.lower().replace("-", ":"))
    dcc.get_by_role("button", name="Search").click()
    expect(dcc).to_have_url(f"{site.url}/smi/devices/{NEW_DEVICE}")
    dcc.goto(site.url + "/smi")
    dcc.get_by_label("Device ID or MPxN").fill(MPAN)
    dcc.get_by_role("button", name="Search").click()
    rows = dcc.locator("#smi-devices tbody tr")
    expect(rows).to_have_count(2)  # the IHD already there and the new meter
    expect(dcc.locator("#smi-devices")).to_contain_text(NEW_DEVICE)
    expect(rows.filter(has_text="ESME")).to_contain_text("Commissioned")
    dcc.goto(site.url + "/smi?type=IHD")
    expect(rows).to_have_count(50)
    ids_first = dcc.locator("#smi-devices tbody tr td:first-child").all_inner_texts()
    dcc.locator("#next-page").click()
    expect(rows).to_have_count(BULK - 50)
    expect(dcc.locator("#next-page")).to_have_count(0)
    assert not set(ids_first) & set(dcc.locator("#smi-devices tbody tr td:first-child").all_inner_texts())

    # -- SECAS removes the model citing the Panel minute and issues extract 2 ------------------------------
    secas.goto(entry_url)
    removal = secas.locator("#remove")
    removal.get_by_label("Reason").fill("CPA certificate withdrawn by the CPA scheme")
    removal.get_by_role("button", name="Record removal").click()
    expect(secas.locator("#err-minute_reference")).to_contain_text("cite the Panel minute")
    removal = secas.locator("#remove")
    removal.get_by_label("Panel minute").fill(MINUTE)
    removal.get_by_label("Reason").fill("CPA certificate withdrawn by the CPA scheme")
    removal.get_by_role("button", name="Record removal").click()
    expect(secas.get_by_role("status")).to_have_text("Done: removal.")
    expect(secas.locator("main .badge").first).to_have_text("Withdrawn")
    expect(secas.locator("#removals")).to_contain_text(MINUTE)
    secas.goto(site.url + "/cpl/extracts")
    issue_extract(secas, 2)
    expect(secas.locator("#extract-2")).to_contain_text(f"DM-E9 FW 1.0.0: Withdrawn ({MINUTE})")

    # -- the DCC applies extract 2: the meter is Suspended and its Users are told -----------------------------
    dcc.goto(site.url + "/cpl/extracts")
    second = download_extract(site, dcc, 2)
    upload_extract(dcc, second)
    expect(dcc.locator("#apply-report")).to_contain_text("CPL extract 2 verified and applied to the SMI.")
    expect(dcc.locator("#apply-report")).to_contain_text(f"Withdrawn ({MINUTE})")
    expect(dcc.locator("#report-suspended")).to_have_text("1")
    expect(dcc.locator("#report-events")).to_have_text("2")  # the Supplier and the Network Operator
    expect(dcc.locator("#extract-2 td").nth(7)).to_have_text("1")

    dcc.goto(f"{site.url}/smi/devices/{NEW_DEVICE}")
    expect(dcc.locator("h1 .badge")).to_have_text("Suspended")
    expect(dcc.locator("#device")).to_contain_text("(before suspension: Commissioned)")
    expect(dcc.locator("#device")).to_contain_text("— Withdrawn on the CPL")
    history = dcc.locator("#history tbody tr")
    expect(history).to_have_count(3)
    expect(history.nth(0)).to_contain_text("added to the SMI")
    expect(history.nth(1)).to_contain_text("Commissioned")
    expect(history.nth(2)).to_contain_text("CPL extract 2 (suspended: Device Model not Active on the CPL)")
    expect(history.nth(2).locator(".badge")).to_have_text("Suspended")
    alerts = dcc.locator("#events tbody tr")
    expect(alerts).to_have_count(2)
    expect(alerts.filter(has_text="Big Energy plc")).to_contain_text("DeviceSuspended")
    expect(alerts.filter(has_text="Wires North")).to_contain_text("DeviceSuspended")
    # a Suspended meter is not offered Commission (the lifecycle allows it nothing until its model is Active again)
    expect(dcc.get_by_role("button", name="Commission")).to_have_count(0)
    expect(dcc.locator("main")).to_contain_text("returns to Commissioned only when its Device Model is Active")

    dcc.goto(site.url + "/smi/counts")
    for table, label, n in (("#by-status", "Suspended", 1), ("#by-status", "Commissioned", BULK),
                            ("#by-status", "Decommissioned", 0), ("#by-type", "ESME", 1), ("#by-type", "IHD", BULK)):
        row = dcc.locator(f"{table} tbody tr").filter(has=dcc.get_by_text(label, exact=True))
        expect(row.locator("td").nth(1)).to_have_text(str(n))
    expect(dcc.locator("main")).to_contain_text(f"{BULK + 1} devices in the Smart Metering Inventory")

    # -- a tampered extract and a replayed one are refused, and nothing changes -------------------------------
    before = site.state()
    doc = json.loads(second.read_text())
    payload = json.loads(doc["payload"])
    payload["sequence"] = 3
    for e in payload["entries"]:
        if e["model"] == "DM-E9":
            e["status"] = "Active"  # put the removed model back without SECAS
    doc["payload"] = canonical_json(payload)
    tampered = site.downloads / "cpl-extract-3.json"
    tampered.write_text(json.dumps(doc))
    dcc.goto(site.url + "/cpl/extracts")
    upload_extract(dcc, tampered)
    error = dcc.locator("#apply-error")
    expect(error).to_contain_text("Refused: cpl-extract-3.json (check: signature).")
    expect(error).to_contain_text("the signature is not valid")
    expect(error).to_contain_text("Nothing was changed.")
    expect(dcc.locator("#apply-report")).to_have_count(0)
    expect(dcc.locator("#extracts-table tbody tr")).to_have_count(2)
    upload_extract(dcc, second)
    expect(dcc.locator("#apply-error")).to_contain_text("(check: sequence)")
    expect(dcc.locator("#apply-error")).to_contain_text("replayed: extract 2 is not newer than the last applied")
    assert site.state() == before
    dcc.goto(f"{site.url}/smi/devices/{NEW_DEVICE}")
    expect(dcc.locator("h1 .badge")).to_have_text("Suspended")
