"""Issue 4's journey through the `gbsmart` command, against a real database (SQLite and PostgreSQL).

`db upgrade`, `demo`, `pki init-test` and `smi generate --devices 2000` set the scene. A manufacturer submits a new
firmware version of a generated ESME product (first without its DLMS certificate), SECAS approves it and issues a
signed extract, the DCC verifies and applies it, moves an installed meter onto the new firmware (`smi firmware`: it is
a Device Model on the CPL now) and commissions it; SECAS removes the model citing the Panel minute and issues the next
extract; the DCC applies it and the meter is Suspended; a tampered file exits 1 saying nothing was changed, and so
does a replayed one.

(There is no `gbsmart smi add`: the CLI puts a device on a new Device Model by a firmware update, as in the field.)
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from gbsmart.cli import app
from gbsmart.core.db import make_engine, make_sessionmaker
from gbsmart.cpl.extracts import canonical_json
from gbsmart.gateway.demo import BOXED_DEVICES
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.smi import SmiDevice, SmiDeviceEvent, SmiDeviceModel, SmiExtractApplication, SmiStatusHistory
from gbsmart.smi.enums import DeviceType, SmiStatus
from gbsmart.smi.rules import DEVICE_TYPE_CODE, STATUS_CODE, int_to_eui64

runner = CliRunner()
MINUTE = "SECP_80_2405_20 item 4"
NEW_FIRMWARE = "9.9"


@pytest.fixture
def db(cli_env, db_url):
    """A session on the same database, for what the commands do not print (opened after `db upgrade`)."""
    engine = make_engine(db_url)
    session = make_sessionmaker(engine)()
    yield session
    session.close()
    engine.dispose()


def run(*args: object):
    """`gbsmart ARGS...`; ``.text`` is its output with Rich's line wrapping undone."""
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False, terminal_width=200)
    result.text = " ".join(result.output.split())
    return result


def ok(*args: object):
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result


def state(session) -> dict:
    session.rollback()

    def count(model) -> int:
        return session.scalar(select(func.count()).select_from(model))

    out = {"models": sorted(session.execute(select(SmiDeviceModel.model, SmiDeviceModel.firmware_version,
                                                   SmiDeviceModel.status)).all()),
           "devices": session.execute(select(func.sum(SmiDevice.smi_status * SmiDevice.device_type),
                                             func.count()).select_from(SmiDevice)).one(),
           "suspended": count_status(session, SmiStatus.SUSPENDED),
           "applications": count(SmiExtractApplication), "history": count(SmiStatusHistory),
           "events": count(SmiDeviceEvent), "audit": count(ChangeRecord)}
    session.rollback()
    return out


def count_status(session, status: SmiStatus) -> int:
    return session.scalar(select(func.count()).select_from(SmiDevice).where(
        SmiDevice.smi_status == STATUS_CODE[status]))


def submission(model: SmiDeviceModel, *, dlms: bool) -> dict:
    """A new CPL entry: ``model``'s product with NEW_FIRMWARE, an ESME with its certificates (DLMS if ``dlms``)."""
    expiry = (date.today() + timedelta(days=3 * 365)).isoformat()
    certificates = [{"kind": "zigbee", "number": "ZIG-CLI-1", "issued_on": "2021-01-04"},
                    {"kind": "cpa", "number": "CPA-CLI-1", "issued_on": "2021-01-04", "expiry_date": expiry}]
    if dlms:
        certificates.append({"kind": "dlms", "number": "DLMS-CLI-1", "issued_on": "2021-01-04"})
    return {"kind": "new_entry", "manufacturer": model.manufacturer, "model": model.model,
            "hardware_version": model.hardware_version, "firmware_version": NEW_FIRMWARE,
            "physical_device_type": "ESME_SINGLE", "release_notes": f"Firmware {NEW_FIRMWARE}: security fixes.",
            "technical_specification": "SMETS2 v4.1", "gbcs_version": "2.0", "certificates": certificates}


def extract_file(output: str) -> Path:
    return Path(re.search(r"file:\s+(\S+\.json)", output).group(1))


def test_from_submission_to_suspended_devices_through_the_cli(cli_env, db):
    ok("db", "upgrade")
    ok("demo")
    r = ok("pki", "init-test")
    assert "test PKI created" in r.text and "SECAS (on behalf of the SEC Panel)" in r.text
    r = ok("smi", "generate", "--devices", 2000, "--seed", 5)
    assert "2,000 devices" in r.text

    # an installed, not yet commissioned, generated electricity meter and its product
    meter, product = db.execute(select(SmiDevice, SmiDeviceModel).join(
        SmiDeviceModel, SmiDevice.device_model_id == SmiDeviceModel.id).where(
        SmiDevice.device_type == DEVICE_TYPE_CODE[DeviceType.ESME],
        SmiDevice.smi_status == STATUS_CODE[SmiStatus.INSTALLED_NOT_COMMISSIONED]).order_by(
        SmiDevice.device_id).limit(1)).one()
    eui = int_to_eui64(meter.device_id)
    db.rollback()

    # -- a manufacturer submits the new firmware version: refused without DLMS, then validated -----------------
    bad, good = cli_env / "bad.json", cli_env / "good.json"
    bad.write_text(json.dumps(submission(product, dlms=False)))
    good.write_text(json.dumps(submission(product, dlms=True)))
    r = run("cpl", "submit", bad, "--as", "other")
    assert r.exit_code == 1 and "an ESME needs a DLMS certificate" in r.text and "The refusal is kept" in r.text
    r = ok("cpl", "submit", good, "--as", "other")
    assert "Validated: awaiting SECAS" in r.text
    submission_id = re.search(r"submission (\d+)", r.text).group(1)

    # -- SECAS approves it and issues extract 1; the DCC verifies and applies it --------------------------------
    assert run("cpl", "approve", submission_id, "--as", "other").exit_code == 1
    r = ok("cpl", "approve", submission_id, "--as", "secas")
    entry_id = re.search(r"entry (\d+), Active", r.text).group(1)
    r = ok("cpl", "list", "--search", NEW_FIRMWARE, "--manufacturer", product.manufacturer, "--type", "ESME_SINGLE",
           "--status", "Active")
    assert "1 CPL entries" in r.text and product.model in r.text
    assert run("cpl-extract", "issue", "--as", "dcc").exit_code == 1  # only SECAS issues
    r = ok("cpl-extract", "issue", "--as", "secas")
    assert "CPL extract 1 signed by SECAS (on behalf of the SEC Panel)" in r.text
    first = extract_file(r.output)
    r = ok("cpl-extract", "verify", first)
    assert "CPL extract 1 verifies" in r.text and "gbsmart Test Root CA" in r.text
    assert run("smi", "apply-extract", first, "--as", "other").exit_code == 1  # only the DCC applies
    r = ok("smi", "apply-extract", first, "--as", "dcc")
    assert "CPL extract 1 applied to the SMI" in r.text
    assert db.scalar(select(SmiDeviceModel.status).where(SmiDeviceModel.model == product.model,
                                                          SmiDeviceModel.firmware_version == NEW_FIRMWARE)) == "Active"
    db.rollback()

    # -- the DCC records the meter's upgrade to the listed firmware and commissions it ----------------------------
    r = ok("smi", "firmware", eui, NEW_FIRMWARE, "--as", "dcc")
    assert f"runs firmware {NEW_FIRMWARE}; SMI Status InstalledNotCommissioned" in r.text
    r = ok("smi", "commission", eui, "--as", "dcc")
    assert f"{eui} is Commissioned" in r.text
    r = ok("smi", "show", eui)
    assert f"FW {NEW_FIRMWARE}: Active on the CPL" in r.text and "Commissioned since" in r.text

    # -- SECAS removes the model citing the Panel minute and issues extract 2 -------------------------------------
    r = run("cpl", "remove", entry_id, "--minute", "", "--reason", "CPA withdrawn", "--as", "secas")
    assert r.exit_code == 1 and "minute_reference" in r.text
    r = ok("cpl", "remove", entry_id, "--minute", MINUTE, "--reason", "CPA certificate withdrawn", "--as", "secas")
    assert f"entry {entry_id} removed now ({MINUTE})" in r.text
    r = ok("cpl-extract", "issue", "--as", "secas")
    assert "CPL extract 2 signed" in r.text and "removals: 1" in r.text
    assert f"FW {NEW_FIRMWARE}: Withdrawn ({MINUTE})" in r.text
    second = extract_file(r.output)

    # -- the DCC applies it: the meter is Suspended ------------------------------------------------------------
    suspended_before = count_status(db, SmiStatus.SUSPENDED)
    db.rollback()
    r = ok("smi", "apply-extract", second, "--as", "dcc")
    suspended = int(re.search(r"devices suspended │ (\d+) │", r.text).group(1))
    assert suspended == 1  # only this meter runs the removed firmware
    assert count_status(db, SmiStatus.SUSPENDED) == suspended_before + suspended > 0
    db.rollback()
    r = ok("smi", "show", eui)
    assert "Suspended since" in r.text and "before suspension │ Commissioned" in r.text
    assert "CPL extract 2 (suspended: Device Model not Active on the CPL)" in r.text
    r = ok("smi", "counts")
    # the 2,000 generated devices and the demo's DCC Boxed test devices (gateway/demo.py)
    assert f"{2000 + len(BOXED_DEVICES):,} devices by SMI Status and Device Type" in r.text
    r = ok("cpl-extract", "list")
    assert r.text.count("not yet") == 0

    # -- a tampered extract and a replayed one exit 1 and change nothing ----------------------------------------
    before = state(db)
    doc = json.loads(second.read_text())
    payload = json.loads(doc["payload"])
    payload["sequence"] = 3
    for e in payload["entries"]:
        if e["firmware_version"] == NEW_FIRMWARE:
            e["status"] = "Active"
    doc["payload"] = canonical_json(payload)
    tampered = cli_env / "cpl-extract-3.json"
    tampered.write_text(json.dumps(doc))
    r = run("cpl-extract", "verify", tampered)
    assert r.exit_code == 1 and "the signature is not valid" in r.text
    r = run("smi", "apply-extract", tampered, "--as", "dcc")
    assert r.exit_code == 1 and "the signature is not valid" in r.text and "Nothing was changed" in r.text
    r = run("smi", "apply-extract", second, "--as", "dcc")
    assert r.exit_code == 1 and "replayed: extract 2" in r.text and "Nothing was changed" in r.text
    assert state(db) == before
