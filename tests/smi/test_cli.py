"""`gbsmart smi ...` against a real database: a small generate run, show, counts, commission, firmware."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from gbsmart.models.smi import SmiDevice
from gbsmart.smi.cli import app
from gbsmart.smi.rules import DEVICE_TYPE_CODE, STATUS_CODE, DeviceType, SmiStatus, int_to_eui64

runner = CliRunner()


@pytest.fixture
def cli_env(cli_env, engine):
    return cli_env

def run(*args: str):  # noqa: ANN201
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
