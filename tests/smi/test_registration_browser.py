"""Registration data in a real browser: the DCC finds an MPAN through the SMI search, is told beside the field why a
registration that goes back in time is refused, records a change of Supplier and sees it in the history; then it
changes a device's SMI Status from the device page."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from playwright.sync_api import Page, expect

import gbsmart.models.smi  # noqa: F401 - registers the SMI tables
from gbsmart.config import Settings
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.db import Base, make_engine, make_sessionmaker
from gbsmart.smi import registration, service
from gbsmart.smi.schemas import DeviceCreate, RegistrationCreate
from tests.conftest import TEST_PASSWORD, World

pytestmark = pytest.mark.browser

MPAN = "1200000123456"
IHD = "00-0D-6F-00-00-00-AB-01"


@dataclass
class Site:
    url: str
    page: Page


@pytest.fixture
def site(tmp_path, clock, live_server, new_page) -> Iterator[Site]:
    db_url = f"sqlite:///{tmp_path / 'portal.db'}"
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, secret_key="test-secret-key-not-for-production")
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    session = make_sessionmaker(engine)()
    world = World(session, clock)
    for name, category in (("British Gas", "large_supplier"), ("Tiny Energy Ltd", "small_supplier"),
                           ("Northern Powergrid", "electricity_network"), ("Cadent Gas", "gas_network")):
        world.org(name, category=category)
    world.person("dcc", "dcc", org=world.org("Smart DCC", kind="dcc"))
    system = Ctx(session=session, actor=Actor.system("set-up"), clock=clock, settings=settings)
    service.add_device(system, DeviceCreate(device_id=IHD, device_type="IHD", smi_status="Pending", mpxn=MPAN))
    registration.record_registration(system, RegistrationCreate(
        mpxn=MPAN, supplier="British Gas", network_operator="Northern Powergrid", valid_from=date(2019, 1, 1)))
    session.commit()
    session.close()
    url = live_server(settings, clock=clock)
    page = new_page()
    page.goto(f"{url}/login?next=/smi")
    page.get_by_label("Username").fill("dcc")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    try:
        yield Site(url=url, page=page)
    finally:
        engine.dispose()


def test_the_dcc_records_a_change_of_supplier_through_the_form(site: Site) -> None:
    page = site.page
    page.goto(site.url + "/smi")
    page.get_by_label("Device ID or MPxN").fill(MPAN)
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#smi-devices")).to_contain_text(IHD)
    page.get_by_role("link", name=f"Registration data and devices at MPxN {MPAN}").click()
    expect(page).to_have_url(f"{site.url}/smi/mpxn/{MPAN}")
    expect(page.locator("h1")).to_contain_text(f"MPAN {MPAN}")
    history = page.locator("#registrations tbody tr")
    expect(history).to_have_count(1)
    expect(history.nth(0)).to_contain_text("British Gas")
    expect(history.nth(0)).to_contain_text("current")
    expect(page.locator("#mpxn-devices")).to_contain_text(IHD)

    # a registration that would start before the current one: refused beside the field, nothing recorded
    form = page.locator("#record-registration")
    form.locator("select[name=supplier]").select_option(label="Tiny Energy Ltd")
    form.locator("select[name=network_operator]").select_option(label="Northern Powergrid")
    form.get_by_label("Valid from").fill("2018-12-01")
    form.get_by_role("button", name="Record registration").click()
    expect(page.locator("#registration-error")).to_contain_text("Nothing was recorded")
    expect(page.locator("#err-valid_from")).to_contain_text(
        "must be after 01 Jan 2019, when the current registration began")
    expect(history).to_have_count(1)
    form = page.locator("#record-registration")
    expect(form.locator("select[name=supplier]")).to_have_value(
        form.locator("select[name=supplier] option", has_text="Tiny Energy Ltd").get_attribute("value"))

    # corrected: the change is recorded, and the previous registration ends that day
    form.get_by_label("Valid from").fill("2020-01-15")
    form.get_by_role("button", name="Record registration").click()
    expect(page).to_have_url(f"{site.url}/smi/mpxn/{MPAN}?done=registration")
    expect(page.get_by_role("status")).to_have_text("Done: registration recorded.")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("01 Jan 2019")
    expect(history.nth(0)).to_contain_text("15 Jan 2020")
    expect(history.nth(0)).not_to_contain_text("current")
    expect(history.nth(1)).to_contain_text("Tiny Energy Ltd")
    expect(history.nth(1)).to_contain_text("current")
    expect(page.locator("#err-valid_from")).to_have_count(0)

    # from the device there, back to the MPxN; and an ordinary SMI Status change on the device page
    page.get_by_role("link", name=IHD).click()
    expect(page.locator("#mpxn-link")).to_have_text(MPAN)
    status = page.locator("#status-form")
    status.get_by_label("New SMI Status").select_option("Whitelisted")
    status.get_by_label("Reason for the status change").fill("whitelisted for installation")
    status.get_by_role("button", name="Change SMI Status").click()
    expect(page.get_by_role("status")).to_have_text("Done: SMI Status changed to Whitelisted.")
    expect(page.locator("h1 .badge")).to_have_text("Whitelisted")
    expect(page.locator("#history tbody tr").last).to_contain_text("whitelisted for installation")
    page.locator("#mpxn-link").click()
    expect(page).to_have_url(f"{site.url}/smi/mpxn/{MPAN}")
