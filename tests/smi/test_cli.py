"""`gbsmart smi ...` against a real database: a small generate run, show, counts, commission, firmware."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from gbsmart.models.smi import SmiDevice
from gbsmart.smi.cli import app
from gbsmart.smi.enums import DeviceType, SmiStatus
from gbsmart.smi.rules import DEVICE_TYPE_CODE, STATUS_CODE, int_to_eui64

runner = CliRunner()


@pytest.fixture
def cli_env(cli_env, engine):
    return cli_env

def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False, terminal_width=200)


def test_generate_show_counts_commission_firmware(cli_env, session):
    r = run("generate", "--devices", "2000", "--seed", "5")
    assert r.exit_code == 0, r.output
    assert "2,000 devices" in r.output
    assert run("generate", "--devices", "10").exit_code == 1  # not into a non-empty SMI
    r = run("counts")
    assert r.exit_code == 0 and "2,000 devices by SMI Status and Device Type" in r.output
    d = session.scalars(select(SmiDevice).where(
        SmiDevice.device_type == DEVICE_TYPE_CODE[DeviceType.ESME],
        SmiDevice.smi_status == STATUS_CODE[SmiStatus.INSTALLED_NOT_COMMISSIONED]).limit(1)).one()
    eui = int_to_eui64(d.device_id)
    r = run("show", eui)
    assert r.exit_code == 0 and "Installed" in r.output and "Status history" in r.output
    r = run("commission", eui)
    assert r.exit_code == 0 and "is Commissioned" in r.output
    r = run("commission", eui)
    assert r.exit_code == 1 and "409" in r.output
    r = run("firmware", eui, "no-such-version")
    assert r.exit_code == 1 and "firmware_version" in r.output
    assert run("show", "00-00-00-00-00-00-00-01").exit_code == 1


MPAN = "1400000000001"


@pytest.fixture
def people(cli_env, world) -> None:
    world.org("British Gas", category="large_supplier")
    world.org("Tiny Energy Ltd", category="small_supplier")
    world.org("Northern Powergrid", category="electricity_network")
    world.person("dcc.op", "dcc", org=world.org("Smart DCC", kind="dcc"))
    world.person("tiny.user", "party_user", org=world.org("Tiny Energy Ltd"))
    world.person("bg.user", "party_user", org=world.org("British Gas"))


def test_add_list_change_status_and_decommission(cli_env, people):
    assert run("generate", "--devices", "300", "--seed", "5").exit_code == 0
    esme = ["add", "00-0D-6F-00-00-AA-00-01", "--type", "ESME", "--manufacturer", "Voltmeter Co", "--model", "V1-SP",
            "--hardware", "A", "--mpxn", MPAN, "--region", "North", "--status", "InstalledNotCommissioned"]
    r = run(*esme, "--firmware", "9.9", "--as", "dcc.op")
    assert r.exit_code == 1 and "device_model: a ESME must have a Device Model on the CPL" in r.output
    assert "• device_model:" in r.output and "Nothing was saved" in r.output
    r = run(*esme, "--firmware", "1.2", "--as", "tiny.user")
    assert r.exit_code == 1 and "403" in r.output and "Only the DCC or the Code Administrator" in r.output
    r = run("add", "00-0D-6F-00-00-AA-00-09", "--type", "IHD", "--mpxn", "12")
    assert r.exit_code == 1 and "mpxn" in r.output
    r = run(*esme, "--firmware", "1.2", "--as", "dcc.op")
    assert r.exit_code == 0, r.output
    assert "00-0D-6F-00-00-AA-00-01 (ESME) added: SMI Status InstalledNotCommissioned" in r.output
    assert "Voltmeter Co V1-SP HW A FW 1.2 (Active on the CPL)" in r.output
    r = run("add", "00-0D-6F-00-00-AA-00-02", "--type", "IHD", "--mpxn", MPAN)
    assert r.exit_code == 0 and "SMI Status Pending" in r.output

    r = run("devices", "--mpxn", MPAN)
    assert r.exit_code == 0 and "00-0D-6F-00-00-AA-00-01" in r.output and "00-0D-6F-00-00-AA-00-02" in r.output
    assert "2 on this page" in r.output and "(last page)" in r.output
    r = run("devices", "--type", "IHD", "--limit", "5")
    assert r.exit_code == 0 and "5 on this page" in r.output
    cursor = re.search(r"--cursor (\S+)", r.output).group(1)
    first = set(re.findall(r"[0-9A-F]{2}(?:-[0-9A-F]{2}){7}", r.output))
    r = run("devices", "--type", "IHD", "--limit", "5", "--cursor", cursor)
    assert r.exit_code == 0 and not first & set(re.findall(r"[0-9A-F]{2}(?:-[0-9A-F]{2}){7}", r.output))
    assert run("devices", "--mpxn", "0123").exit_code == 1

    r = run("status", "00-0D-6F-00-00-AA-00-02", "Whitelisted", "--reason", "ordered", "--as", "dcc.op")
    assert r.exit_code == 0 and "is Whitelisted" in r.output
    r = run("status", "00-0D-6F-00-00-AA-00-02", "Recovered")
    assert r.exit_code == 1 and "409" in r.output and "allowed from Whitelisted" in r.output
    r = run("status", "00-0D-6F-00-00-AA-00-02", "Withdrawn", "--as", "tiny.user")
    assert r.exit_code == 1 and "403" in r.output and "E4" in r.output
    r = run("decommission", "00-0D-6F-00-00-AA-00-01", "--as", "dcc.op")
    assert r.exit_code == 0 and "is Decommissioned" in r.output
    assert run("decommission", "00-0D-6F-00-00-AA-00-01").exit_code == 1
    r = run("show", "00-0D-6F-00-00-AA-00-02")
    assert "ordered" in r.output and "Whitelisted" in r.output


def test_registration_set_and_show(cli_env, people):
    base = ["registration", "set", MPAN, "--network-operator", "Northern Powergrid"]
    r = run(*base, "--fuel", "E", "--supplier", "British Gas", "--from", "2019-01-01", "--as", "dcc.op")
    assert r.exit_code == 0, r.output
    assert (f"from 01 Jan 2019, British Gas supplies and Northern Powergrid is the Network Operator of {MPAN}"
            in r.output)
    r = run(*base, "--supplier", "Tiny Energy Ltd", "--from", "2018-06-01")
    assert r.exit_code == 1 and "• valid_from: must be after 01 Jan 2019" in r.output
    r = run(*base, "--supplier", "Northern Powergrid", "--fuel", "G", "--from", "2020-01-01")
    assert r.exit_code == 1 and "error (422)" in r.output
    assert "• fuel: fuel G is gas" in r.output
    assert "• supplier: Northern Powergrid is an Electricity Network" in r.output
    r = run(*base, "--supplier", "Tiny Energy Ltd", "--from", "2020-01-01", "--as", "tiny.user")
    assert r.exit_code == 1 and "error (403)" in r.output
    assert run(*base, "--supplier", "Tiny Energy Ltd", "--from", "01/01/2020").exit_code == 2  # not a date
    r = run(*base, "--supplier", "tiny energy ltd", "--from", "2020-01-01")
    assert r.exit_code == 0 and "Tiny Energy Ltd supplies" in r.output

    r = run("registration", "show", MPAN, "--as", "bg.user")  # British Gas supplied it: it reads the history
    assert r.exit_code == 0, r.output
    assert f"Registration data of MPAN {MPAN}" in r.output
    rows = [line for line in r.output.splitlines() if "Northern Powergrid" in line]
    assert len(rows) == 2 and "01 Jan 2019" in rows[0] and "01 Jan 2020" in rows[0] and "current" in rows[1]
    assert "No devices at" in r.output
    assert run("registration", "show", "1999999999999").exit_code == 1
    assert "404" in run("registration", "show", "1999999999999").output
