"""Who may write to the SMI is the service's answer (issue 9, point 2): the service refuses a non-writer itself, and
the API, the portal and the CLI give that one refusal in the same words. Also: the CLI prints what people typed
verbatim (no Rich markup), and a device's page offers only the actions its SMI Status allows."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from gbsmart.core.context import Actor, Ctx
from gbsmart.core.errors import Forbidden
from gbsmart.models.smi import SmiDevice, SmiStatusHistory
from gbsmart.smi import service
from gbsmart.smi.cli import app as smi_cli
from gbsmart.smi.enums import SmiStatus
from gbsmart.smi.rules import STATUS_CODE
from gbsmart.smi.schemas import DeviceCreate
from tests.conftest import TEST_PASSWORD

IHD = "00-0D-6F-00-00-00-AB-01"
NEW = "00-0D-6F-00-00-00-AB-02"
MPAN = "1200000123456"
runner = CliRunner()


@pytest.fixture
def device(ctx, session) -> str:
    service.add_device(ctx, DeviceCreate(device_id=IHD, device_type="IHD", smi_status="Pending", mpxn=MPAN))
    session.commit()
    return IHD


@pytest.fixture
def outsider(world):
    """A Party user whose Party supplies no MPxN: it may neither add devices nor change one."""
    return world.person("outsider", "party_user", org=world.org("Tiny Energy Ltd", category="small_supplier"))


def _as(person, ctx: Ctx) -> Ctx:
    return Ctx(session=ctx.session, actor=Actor.of(person), clock=ctx.clock, settings=ctx.settings)


def test_the_service_refuses_a_non_writer_at_every_change(ctx, session, device, outsider):
    them = _as(outsider, ctx)
    assert not service.may_add(them) and service.may_add(ctx)
    with pytest.raises(Forbidden) as refused:
        service.add_device(them, DeviceCreate(device_id=NEW, device_type="IHD"))
    assert refused.value.message == service.FORBIDDEN_TO_ADD
    for change in (lambda: service.commission(them, device), lambda: service.decommission(them, device),
                   lambda: service.change_status(them, device, SmiStatus.WHITELISTED),
                   lambda: service.update_firmware(them, device, "1.0")):
        with pytest.raises(Forbidden) as refused:
            change()
        assert refused.value.message == service.FORBIDDEN_TO_CHANGE
    session.rollback()
    assert session.get(SmiDevice, int(NEW.replace("-", ""), 16)) is None
    d = session.scalar(select(SmiDevice))
    assert d.smi_status == STATUS_CODE[SmiStatus.PENDING]
    assert [h.reason for h in session.scalars(select(SmiStatusHistory))] == ["added to the SMI"]
    assert service.actions_for(them, d) == service.DeviceActions()  # a page offers them nothing


def _text(output: str) -> str:
    return " ".join(output.split())


def _page_text(html: str) -> str:
    return _text(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'"))


def _sign_in(client, username: str) -> str:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"username": username, "password": TEST_PASSWORD, "csrf_token": token,
                                "next": "/smi"})
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/smi").text).group(1)


def test_the_api_the_page_and_the_cli_refuse_a_non_writer_in_the_same_words(client, cli_env, world, device,
                                                                            outsider, session):
    bearer = world.token(outsider)
    csrf = _sign_in(client, "outsider")

    # adding a device
    api = client.post("/api/v1/smi/devices", json={"device_id": NEW, "device_type": "IHD"}, headers=bearer)
    page = client.post("/smi/devices", data={"csrf_token": csrf, "device_id": NEW, "device_type": "IHD"})
    cli = runner.invoke(smi_cli, ["add", NEW, "--type", "IHD", "--as", "outsider"], terminal_width=200)
    assert (api.status_code, api.json()["error"]) == (403, service.FORBIDDEN_TO_ADD)
    assert page.status_code == 403 and service.FORBIDDEN_TO_ADD in _page_text(page.text)
    assert cli.exit_code == 1 and f"error (403): {service.FORBIDDEN_TO_ADD}" in _text(cli.output)

    # commissioning, and every other change, of a device the actor's Party does not supply
    api = client.post(f"/api/v1/smi/devices/{device}/commission", headers=bearer)
    page = client.post(f"/smi/devices/{device}/commission", data={"csrf_token": csrf})
    cli = runner.invoke(smi_cli, ["commission", device, "--as", "outsider"], terminal_width=200)
    assert (api.status_code, api.json()["error"]) == (403, service.FORBIDDEN_TO_CHANGE)
    assert page.status_code == 403 and service.FORBIDDEN_TO_CHANGE in _page_text(page.text)
    assert cli.exit_code == 1 and f"error (403): {service.FORBIDDEN_TO_CHANGE}" in _text(cli.output)
    for path, data, args in (("status", {"smi_status": "Whitelisted"}, ["status", device, "Whitelisted"]),
                             ("firmware", {"firmware_version": "1.0"}, ["firmware", device, "1.0"])):
        api = client.post(f"/api/v1/smi/devices/{device}/{path}", json=data, headers=bearer)
        page = client.post(f"/smi/devices/{device}/{path}", data={"csrf_token": csrf, **data})
        cli = runner.invoke(smi_cli, [*args, "--as", "outsider"], terminal_width=200)
        assert (api.status_code, api.json()["error"]) == (403, service.FORBIDDEN_TO_CHANGE)
        assert page.status_code == 403 and service.FORBIDDEN_TO_CHANGE in _page_text(page.text)
        assert cli.exit_code == 1 and service.FORBIDDEN_TO_CHANGE in _text(cli.output)

    session.expire_all()
    assert [d.smi_status for d in session.scalars(select(SmiDevice))] == [STATUS_CODE[SmiStatus.PENDING]]
    # and the page offered none of it
    shown = client.get(f"/smi/devices/{device}").text
    assert "Act on this device" not in shown and 'id="add-device"' not in client.get("/smi").text


def test_a_commissioned_device_is_not_offered_commission_again(client, world, ctx, session):
    world.person("dcc.op", "dcc", org=world.org("Smart DCC", kind="dcc"))
    service.add_device(ctx, DeviceCreate(device_id=NEW, device_type="IHD", smi_status="InstalledNotCommissioned"))
    session.commit()
    _sign_in(client, "dcc.op")
    before = client.get(f"/smi/devices/{NEW}").text
    assert 'action="/smi/devices/00-0D-6F-00-00-00-AB-02/commission"' in before
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', before).group(1)
    done = client.post(f"/smi/devices/{NEW}/commission", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    after = client.get(f"/smi/devices/{NEW}").text
    assert "Act on this device" in after and "/commission" not in after  # only what Commissioned allows
    assert '<option value="Decommissioned">' in after and '<option value="Recovery">' in after
    assert "Record firmware update" in after
    session.expire_all()
    assert service.actions_for(ctx, session.scalar(select(SmiDevice))).commission is False


def test_the_cli_prints_what_people_typed_verbatim(cli_env, world, device):
    world.person("dcc.op", "dcc", org=world.org("Smart DCC", kind="dcc"))
    typed = "[bold]x[/bold] :AB:"
    r = runner.invoke(smi_cli, ["status", device, "Whitelisted", "--reason", typed, "--as", "dcc.op"],
                      terminal_width=200)
    assert r.exit_code == 0, r.output
    r = runner.invoke(smi_cli, ["show", device], terminal_width=200)
    assert r.exit_code == 0 and typed in r.output, r.output
    r = runner.invoke(smi_cli, ["firmware", device, "[red]9.9[/red]", "--as", "dcc.op"], terminal_width=200)
    assert r.exit_code == 1 and "no Device Model" in r.output
    r = runner.invoke(smi_cli, ["registration", "set", MPAN, "--supplier", "[bold]Nobody[/bold]",
                                "--network-operator", "x", "--from", "2019-01-01", "--as", "dcc.op"],
                      terminal_width=200)
    assert r.exit_code == 1 and "'[bold]Nobody[/bold]'" in r.output, r.output
