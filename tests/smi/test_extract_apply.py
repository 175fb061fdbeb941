"""The DCC applies signed CPL extracts to the SMI: the round trip from the CPL to Suspended devices and back, the
refusals that change nothing, the `smi apply-extract` command and POST /api/v1/smi/extracts."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

import gbsmart.models.extracts  # noqa: F401 - registers cpl_extracts
import gbsmart.models.smi  # noqa: F401 - registers the SMI tables
from gbsmart.config import get_settings
from gbsmart.core import cli_support
from gbsmart.core.clock import SystemClock
from gbsmart.core.errors import Forbidden
from gbsmart.core.signing import create_test_pki, fingerprint, load_certificates, load_private_key
from gbsmart.cpl import service as cpl_service
from gbsmart.cpl.enums import EntryStatus
from gbsmart.cpl.extracts import ExtractOutOfOrder, ExtractRefused, ExtractReplayed, issue_extract
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.extracts import CplExtract
from gbsmart.models.smi import SmiDevice, SmiDeviceEvent, SmiDeviceModel, SmiExtractApplication, SmiStatusHistory
from gbsmart.pki.cli import app as pki_app
from gbsmart.smi import service as smi_service
from gbsmart.smi.cli import app as smi_app
from gbsmart.smi.extract_apply import apply_extract
from gbsmart.smi.extract_cli import app as cpl_extract_app
from gbsmart.smi.registration import write_registration
from gbsmart.smi.rules import STATUS_OF
from gbsmart.smi.schemas import DeviceCreate
from tests.cpl.conftest import versions  # noqa: F401 - fixture: technical specification and GBCS versions
from tests.cpl.test_extracts import crew_fixture, payload, pki_fixture, signed_file  # noqa: F401

GSME = ("Demo Meters Ltd", "DM-GSME", "A1", "1.0.0")


# ---------------------------------------------------------------------------------------------- kit


def state(session) -> dict:
    """Everything an application could change, to show that a refusal changed nothing."""
    session.rollback()  # see what is committed

    def count(model) -> int:
        return session.scalar(select(func.count()).select_from(model))

    return {
        "models": sorted(session.execute(select(SmiDeviceModel.model, SmiDeviceModel.status)).all()),
        "devices": sorted(session.execute(select(SmiDevice.device_id, SmiDevice.smi_status)).all()),
        "applications": count(SmiExtractApplication), "history": count(SmiStatusHistory),
        "events": count(SmiDeviceEvent), "audit": count(ChangeRecord),
    }


def statuses(session) -> list[str]:
    session.rollback()
    return [STATUS_OF[s].value for s in session.scalars(select(SmiDevice.smi_status).order_by(SmiDevice.device_id))]


@pytest.fixture
def listed(crew, pki, session):
    """Two Device Models on the CPL (a GSME and an ESME), extract 1 issued and applied, three devices in the SMI:
    two Commissioned GSMEs whose gas meter point has a Supplier and a Network Operator, one ESME."""
    gsme, esme = crew.listed("GSME"), crew.listed("ESME_SINGLE")
    issue_extract(crew.ctx("secas"))
    apply_extract(crew.ctx("dcc"), Path(crew.settings.resolved_extracts_dir() / "cpl-extract-1.json"))
    dcc = crew.ctx("dcc")
    supplier, network = crew.people["supplier"].organisation_id, crew.people["maker"].organisation_id
    for n, (device_type, model) in enumerate([("GSME", GSME), ("GSME", GSME),
                                              ("ESME", ("Demo Meters Ltd", "DM-ESME_SINGLE", "A1", "1.0.0"))]):
        mpxn = str(1_000_000 + n)
        smi_service.add_device(dcc, DeviceCreate(
            device_id=f"00-0D-6F-00-00-00-00-0{n + 1}", device_type=device_type, manufacturer=model[0],
            model=model[1], hardware_version=model[2], firmware_version=model[3], smi_status="Commissioned",
            mpxn=mpxn))
        if device_type == "GSME":
            write_registration(dcc, mpxn=int(mpxn), fuel="G", supplier_org_id=supplier,
                                         network_operator_org_id=network, valid_from=date(2019, 1, 1))
    session.commit()
    return gsme, esme


def extract_path(crew, sequence: int) -> Path:
    return crew.settings.resolved_extracts_dir() / f"cpl-extract-{sequence}.json"


def remove_gsme(crew, gsme) -> Path:
    cpl_service.remove_entry(crew.ctx("secas"), gsme, "SEC Panel 12_2502 minute 7", "CPA certificate revoked")
    row = issue_extract(crew.ctx("secas"))
    crew.session.commit()
    return Path(row.file_path)


# ---------------------------------------------------------------------------------------------- the round trip


def test_round_trip_removal_suspends_and_relisting_restores(crew, listed, session):
    gsme, _esme = listed
    assert statuses(session) == ["Commissioned"] * 3
    second = remove_gsme(crew, gsme)

    report = apply_extract(crew.ctx("dcc"), second)
    session.commit()
    assert (report.sequence, report.suspended, report.restored) == (2, 2, 0)
    assert report.events == 4  # two devices x (Supplier, Network Operator)
    assert report.models == {"added": 0, "updated": 1, "withdrawn": 0}
    assert [r["minute_reference"] for r in report.removals] == ["SEC Panel 12_2502 minute 7"]
    assert report.warnings == []
    assert set(report.seconds) == {"verify", "models", "statuses", "record", "total"}
    assert statuses(session) == ["Suspended", "Suspended", "Commissioned"]
    application = session.scalar(select(SmiExtractApplication).where(SmiExtractApplication.sequence == 2))
    issued = session.scalar(select(CplExtract).where(CplExtract.sequence == 2))
    assert application.sha256 == issued.sha256 == report.sha256 and application.suspended == 2
    audit = session.scalar(select(ChangeRecord).where(ChangeRecord.action == "cpl_extract.apply",
                                                      ChangeRecord.object_id == "2"))
    assert audit.actor_name == "dcc" and audit.after["signer"] == "SECAS (on behalf of the SEC Panel)"
    assert audit.after["chain"][-1] == "gbsmart Test Root CA"

    cpl_service.set_status(crew.ctx("secas"), gsme, EntryStatus.ACTIVE, "relist", "Re-listed after recertification.")
    third = issue_extract(crew.ctx("secas"))
    session.commit()
    report = apply_extract(crew.ctx("dcc"), Path(third.file_path))
    session.commit()
    assert (report.suspended, report.restored, report.events) == (0, 2, 4)
    assert statuses(session) == ["Commissioned"] * 3


def test_a_removal_citing_no_minute_is_applied_with_a_warning(crew, listed, session):
    gsme, _ = listed
    cpl_service.set_status(crew.ctx("secas"), gsme, EntryStatus.EXPIRED, "expire", "The CPA certificate expired.")
    row = issue_extract(crew.ctx("secas"))
    session.commit()
    report = apply_extract(crew.ctx("dcc"), Path(row.file_path))
    assert report.suspended == 2
    assert len(report.warnings) == 1 and "cites no Panel minute" in report.warnings[0]


def test_applying_late_is_flagged_against_the_24_hours(crew, listed, session, clock):
    second = remove_gsme(crew, listed[0])
    clock.advance(hours=30)
    report = apply_extract(crew.ctx("dcc"), second)
    assert any("30 hours" in w and "24 hours" in w for w in report.warnings)


def test_only_the_dcc_or_the_code_administrator_applies(crew, listed, session):
    second = remove_gsme(crew, listed[0])
    with pytest.raises(Forbidden):
        apply_extract(crew.ctx("supplier"), second)


# ---------------------------------------------------------------------------------------------- refusals


def _flip(path: Path, old: str, new: str) -> bytes:
    """The file with one byte changed: the first ``old`` (same length as ``new``) replaced."""
    raw = path.read_bytes()
    assert old.encode() in raw and len(old) == len(new)
    return raw.replace(old.encode(), new.encode(), 1)


@pytest.mark.parametrize("old, new", [("DM-GSME", "DM-GSMF"), ('\\"sequence\\":2', '\\"sequence\\":3')])
def test_a_tampered_extract_changes_nothing(crew, listed, session, old, new):
    second = remove_gsme(crew, listed[0])
    before = state(session)
    with pytest.raises(ExtractRefused, match="signature is not valid"):
        apply_extract(crew.ctx("dcc"), _flip(second, old, new))
    session.rollback()
    assert state(session) == before


def test_replayed_and_out_of_order_extracts_change_nothing(crew, listed, session):
    first = extract_path(crew, 1)
    second = remove_gsme(crew, listed[0])
    third = Path(issue_extract(crew.ctx("secas")).file_path)
    session.commit()
    before = state(session)
    with pytest.raises(ExtractReplayed, match="replayed: extract 1"):
        apply_extract(crew.ctx("dcc"), first)
    with pytest.raises(ExtractOutOfOrder, match="out of order: expected 2, got 3"):
        apply_extract(crew.ctx("dcc"), third)
    session.rollback()
    assert state(session) == before
    apply_extract(crew.ctx("dcc"), second)
    apply_extract(crew.ctx("dcc"), third)
    with pytest.raises(ExtractReplayed, match="replayed: extract 3"):
        apply_extract(crew.ctx("dcc"), third)


def test_gaps_can_be_allowed_by_configuration(crew, listed, session):
    remove_gsme(crew, listed[0])
    third = Path(issue_extract(crew.ctx("secas")).file_path)
    session.commit()
    ctx = crew.ctx("dcc")
    ctx.settings = ctx.settings.model_copy(update={"cpl_extract_allow_gaps": True})
    assert apply_extract(ctx, third).suspended == 2


def test_a_signer_not_chained_to_the_anchor_changes_nothing(crew, listed, session, tmp_path):
    rogue = create_test_pki(tmp_path / "rogue", now=crew.clock.now())
    doc = signed_file(payload(sequence=2, entries=[]), load_private_key(rogue.signer_key),
                      load_certificates(rogue.signer_chain))
    before = state(session)
    with pytest.raises(ExtractRefused, match="not trusted") as exc:
        apply_extract(crew.ctx("dcc"), doc)
    assert exc.value.check == "chain"
    session.rollback()
    assert state(session) == before


# ---------------------------------------------------------------------------------------------- the command


@pytest.fixture
def cli(crew, settings, clock, monkeypatch):
    """`gbsmart pki|cpl-extract|smi` as the lead mounts them, on the test database and clock."""
    root = typer.Typer()
    root.add_typer(pki_app, name="pki")
    root.add_typer(cpl_extract_app, name="cpl-extract")
    root.add_typer(smi_app, name="smi")
    monkeypatch.setenv("GBSMART_DATABASE_URL", settings.resolved_database_url())
    monkeypatch.setenv("GBSMART_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    cli_support.set_clock(clock)
    runner = CliRunner()
    yield lambda *args: runner.invoke(root, list(args))
    cli_support.set_clock(SystemClock())
    get_settings.cache_clear()


def test_cli_init_issue_and_apply(cli, crew, session):
    crew.listed("GSME")
    r = cli("pki", "init-test")
    assert r.exit_code == 0, r.output
    assert "test PKI created" in r.output and "BEGIN" not in r.output
    signer = load_certificates(crew.settings.resolved_pki_dir() / "secas-cpl-signer.pem")[0]
    assert f"GBSMART_CPL_SIGNER_FINGERPRINTS='[\"{fingerprint(signer)}\"]'" in r.output  # to pin it on the DCC
    again = cli("pki", "init-test")
    assert again.exit_code == 1 and "--force" in again.output
    shown = cli("pki", "show")
    assert shown.exit_code == 0 and "chains to the trust anchor" in shown.output and "mode 0600" in shown.output
    assert f"signing certificate SHA-256: {fingerprint(signer)}" in shown.output
    assert "the signing certificate is the CPL signer" in " ".join(shown.output.split())
    assert "PRIVATE KEY" not in shown.output

    issued = cli("cpl-extract", "issue", "--as", "secas")
    assert issued.exit_code == 0, issued.output
    assert "CPL extract 1 signed" in issued.output and "entries:  1" in issued.output
    path = crew.settings.resolved_extracts_dir() / "cpl-extract-1.json"
    assert path.exists()
    assert cli("cpl-extract", "issue", "--as", "dcc").exit_code == 1
    verified = cli("cpl-extract", "verify", str(path))
    assert verified.exit_code == 0 and "verifies" in verified.output

    applied = cli("smi", "apply-extract", str(path))
    assert applied.exit_code == 0, applied.output
    assert "applied to the SMI" in applied.output and "seconds: verify" in applied.output
    assert "devices suspended" in applied.output
    listing = cli("cpl-extract", "list")
    assert listing.exit_code == 0 and "secas" in listing.output


def test_cli_apply_refusals_exit_1_and_say_nothing_changed(cli, crew, listed, session):
    second = remove_gsme(crew, listed[0])
    tampered = second.with_name("tampered.json")
    tampered.write_bytes(_flip(second, "DM-GSME", "DM-GSMX"))
    before = state(session)

    r = cli("smi", "apply-extract", str(tampered))
    assert r.exit_code == 1
    assert "error (422): the signature is not valid" in r.output and "Nothing was changed." in r.output
    assert len(r.output.strip().splitlines()) == 1
    r = cli("smi", "apply-extract", str(extract_path(crew, 1)))
    assert r.exit_code == 1 and "error (409): replayed: extract 1" in r.output and "Nothing was changed" in r.output
    r = cli("smi", "apply-extract", str(second.with_name("absent.json")))
    assert r.exit_code == 1 and "cannot read" in r.output
    assert state(session) == before

    ok = cli("smi", "apply-extract", str(second), "--as", "dcc")
    assert ok.exit_code == 0, ok.output
    assert re.search(r"devices suspended\s+│\s+2 │", ok.output), ok.output


# ---------------------------------------------------------------------------------------------- the API


def test_api_apply_statuses(crew, listed, client, session):
    second = remove_gsme(crew, listed[0])
    third = Path(issue_extract(crew.ctx("secas")).file_path)
    session.commit()
    dcc = crew.headers["dcc"]
    before = state(session)

    r = client.post("/api/v1/smi/extracts", content=_flip(second, "DM-GSME", "DM-GSMX"), headers=dcc)
    assert r.status_code == 422 and r.json()["detail"] == {"check": "signature"}
    assert "signature is not valid" in r.json()["error"]
    r = client.post("/api/v1/smi/extracts", content=third.read_bytes(), headers=dcc)
    assert r.status_code == 409 and "out of order: expected 2, got 3" in r.json()["error"]
    r = client.post("/api/v1/smi/extracts", content=extract_path(crew, 1).read_bytes(), headers=dcc)
    assert r.status_code == 409 and "replayed" in r.json()["error"]
    assert client.post("/api/v1/smi/extracts", content=b"", headers=dcc).status_code == 422
    assert client.post("/api/v1/smi/extracts", content=second.read_bytes(),
                       headers=crew.headers["supplier"]).status_code == 403
    assert state(session) == before

    r = client.post("/api/v1/smi/extracts", content=second.read_bytes(), headers=dcc)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["sequence"], body["suspended"], body["events"]) == (2, 2, 4)
    r = client.post("/api/v1/smi/extracts", files={"file": ("cpl-extract-3.json", third.read_bytes())},
                    headers=crew.headers["secas"])
    assert r.status_code == 200 and r.json()["sequence"] == 3
    history = {h["sequence"]: h for h in client.get("/api/v1/cpl/extracts", headers=dcc).json()}
    assert history[2]["applied"]["suspended"] == 2 and history[2]["applied"]["same_digest_as_issued"] is True
    page = client.get("/cpl/extracts", headers=dcc).text
    assert 'id="extract-2"' in page and "SEC Panel 12_2502 minute 7" in page


def test_api_refuses_a_multipart_without_the_file_field(crew, listed, client):
    r = client.post("/api/v1/smi/extracts", files={"other": ("x.json", b"{}")}, headers=crew.headers["dcc"])
    assert r.status_code == 422 and "'file'" in r.json()["error"]


def test_report_is_json_ready(crew, listed, session):
    report = apply_extract(crew.ctx("dcc"), remove_gsme(crew, listed[0]))
    assert json.loads(json.dumps(report.to_dict()))["suspended"] == 2
