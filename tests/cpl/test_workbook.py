"""The CPL workbook: export then import into an empty database gives the same entries; a bad row imports nothing."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from gbsmart.core.db import Base
from gbsmart.cpl import service, workbook
from gbsmart.cpl.demo import load_cpl_demo
from gbsmart.cpl.errors import WorkbookInvalid
from gbsmart.models.cpl import Certificate, CplEntry, GbcsVersion, Submission, TechnicalSpecification

API = "/api/v1/cpl"


def empty_the_cpl(session) -> None:
    for table in reversed(Base.metadata.sorted_tables):
        if table.name.startswith("cpl_"):
            session.execute(table.delete())
    session.commit()
    session.expunge_all()  # forget the deleted rows: SQLite reuses their ids


def certificates(session) -> list[tuple]:
    return sorted((c.kind, c.number, c.issued_on, c.firmware_version, c.expiry_date, c.conditional,
                   c.conditional_date, c.revoked_at.date() if c.revoked_at else None, c.revocation_reason)
                  for c in session.scalars(select(Certificate)))


def versions(session) -> list[tuple]:
    return sorted([(s.label, s.end_date) for s in session.scalars(select(TechnicalSpecification))]
                  + [(g.label, g.end_date) for g in session.scalars(select(GbcsVersion))])


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def sheet(columns: list[tuple[str, str, type]], *rows: dict) -> list[list]:
    return [[label for label, _, _ in columns], *[[r.get(key) for _, key, _ in columns] for r in rows]]


def xlsx(**sheets: list[list]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name.replace("_", " "))
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD = {"manufacturer": "Demo Meters Ltd", "model": "DM-X", "hardware_version": "1", "firmware_version": "1.0",
        "physical_device_type": "Gas Smart Meter", "status": "Active", "status_since": date(2020, 1, 2),
        "release_notes": "First.", "technical_specification": "SMETS2 v4.1", "gbcs_version": "2.0",
        "smets1": "No", "zigbee_number": "Z-X", "cpa_number": "C-X", "cpa_expiry_date": date(2025, 1, 1)}


def test_export_then_import_into_an_empty_database_gives_the_same_entries(cast, session, clock):
    clock.set(datetime(2021, 6, 1, tzinfo=UTC))  # the L+G GSME removal has taken effect, DM-G0's CPA has expired
    load_cpl_demo(cast.ctx("secas"))
    session.commit()
    before = (service.extract_entries(session), certificates(session), versions(session))
    signed = session.scalar(select(CplEntry).where(CplEntry.signed.is_(True)))
    signed_before = (signed.device_model.model, signed.signature, signed.image_hash, signed.image_creator)
    assert {e["status"] for e in before[0]} == {"Active", "Expired", "Withdrawn"}
    content = workbook.export_bytes(session)
    wb = load_workbook(io.BytesIO(content), read_only=True)
    assert wb.sheetnames == ["CPL", "New Entry", "Versions"]
    assert len(list(wb["CPL"].iter_rows())) == len(before[0]) + 1 and len(list(wb["New Entry"].iter_rows())) == 1
    wb.close()

    empty_the_cpl(session)
    assert service.extract_entries(session) == []
    steps: list[tuple[int, int]] = []
    result = workbook.import_workbook(cast.ctx("secas"), content, progress=lambda done, total: steps.append(
        (done, total)))
    session.commit()
    assert result.entries == len(before[0]) and result.submissions == 0 and steps[-1][0] == steps[-1][1]
    assert service.extract_entries(session) == before[0]
    assert certificates(session) == before[1]
    assert versions(session) == before[2]
    again = session.scalar(select(CplEntry).where(CplEntry.signed.is_(True)))
    assert (again.device_model.model, again.signature, again.image_hash, again.image_creator) == signed_before
    assert again.events[0].action == "import" and "CPL sheet, row" in again.events[0].text

    result = workbook.import_workbook(cast.ctx("secas"), content)  # the same list again: nothing changes
    assert (result.entries, result.unchanged) == (0, len(before[0]))


def test_a_malformed_row_imports_nothing(cast, session):
    bad_esme = {**GOOD, "model": "DM-E", "physical_device_type": "ESME_SINGLE", "zigbee_number": "Z-E",
                "cpa_number": "C-E"}
    bad_date = {**GOOD, "model": "DM-D", "zigbee_number": "Z-D", "cpa_number": "C-D", "cpa_expiry_date": "31/13/2020"}
    content = xlsx(CPL=sheet(workbook.CPL_COLUMNS, GOOD, bad_esme, bad_date, {**GOOD, "status": "Lost"}),
                   New_Entry=sheet(workbook.NEW_COLUMNS, {
                       "kind": "New Entry", "manufacturer": "Demo Meters Ltd", "model": "DM-I", "hardware_version": "1",
                       "firmware_version": "1", "physical_device_type": "IHD", "release_notes": "x",
                       "technical_specification": "SMETS2 v4.1", "gbcs_version": "2.0", "zigbee_number": "Z-I"}))
    with pytest.raises(WorkbookInvalid) as err:
        workbook.import_workbook(cast.ctx("secas"), content)
    session.rollback()
    assert err.value.status == 422 and err.value.message == "The workbook has 4 bad rows; nothing was imported."
    got = [(d["sheet"], d["row"], d["field"], d["rule"]) for d in err.value.detail]
    assert got == [("CPL", 3, "certificates", "certificate-matrix"), ("CPL", 4, "cpa_expiry_date", "cell-format"),
                   ("CPL", 5, "device_model", "device-model-unique"),
                   ("New Entry", 2, "physical_device_type", "device-type-listed")]
    assert err.value.detail[0]["message"] == "certificates: an ESME needs a DLMS certificate (CPL Requirements, SEC F2)"
    assert count(session, CplEntry) == count(session, Submission) == count(session, Certificate) == 0


def test_a_bad_status_and_missing_columns_are_reported(cast, session):
    with pytest.raises(WorkbookInvalid) as err:
        workbook.import_workbook(cast.ctx("secas"), xlsx(CPL=sheet(workbook.CPL_COLUMNS, {**GOOD, "status": "Lost"})))
    assert [(d["row"], d["field"], d["rule"]) for d in err.value.detail] == [(2, "status", "entry-status")]
    with pytest.raises(WorkbookInvalid) as err:
        workbook.import_workbook(cast.ctx("secas"), xlsx(CPL=[["Manufacturer", "Model"], ["A", "B"]]))
    assert err.value.detail[0]["rule"] == "workbook-columns" and "Firmware Version" in err.value.detail[0]["field"]
    with pytest.raises(WorkbookInvalid) as err:
        workbook.import_workbook(cast.ctx("secas"), b"this is not a workbook")
    assert err.value.detail[0]["field"] == "file"


def test_a_manufacturer_imports_only_new_entry_rows_as_submissions(cast, session):
    new = {"kind": "New Entry", **{k: v for k, v in GOOD.items() if k not in ("status", "status_since")},
           "model": "DM-N", "zigbee_number": "Z-N", "cpa_number": "C-N"}
    content = xlsx(CPL=sheet(workbook.CPL_COLUMNS, GOOD), New_Entry=sheet(workbook.NEW_COLUMNS, new))
    result = workbook.import_workbook(cast.ctx("maker"), content)
    assert (result.entries, result.submissions) == (0, 1)
    sub = session.get(Submission, result.submission_ids[0])
    assert sub.status == "validated" and sub.submitter_name == "Demo Meters Ltd" and sub.physical_device_type == "GSME"


def test_import_and_export_through_the_api(client, cast, session):
    cast.listed("PPMID")
    r = client.get(f"{API}/export.xlsx", headers=cast.headers["guest"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="gbsmart-cpl-20200128.xlsx"' in r.headers["content-disposition"]
    content = r.content
    rows = list(load_workbook(io.BytesIO(content), read_only=True)["CPL"].iter_rows(values_only=True))
    assert rows[1][:5] == ("Demo Meters Ltd", "DM-PPMID", "A1", "1.0.0", "Pre-Payment Meter Interface Device")
    bad = xlsx(CPL=sheet(workbook.CPL_COLUMNS, {**GOOD, "physical_device_type": "ESME_TWIN"}))
    files = {"file": ("cpl.xlsx", bad, "application/octet-stream")}
    r = client.post(f"{API}/import", files=files, headers=cast.headers["secas"])
    assert r.status_code == 422 and r.json()["detail"][0] == {
        "sheet": "CPL", "row": 2, "field": "certificates", "rule": "certificate-matrix",
        "message": "certificates: an ESME needs a DLMS certificate (CPL Requirements, SEC F2)"}
    good = xlsx(CPL=sheet(workbook.CPL_COLUMNS, GOOD))
    r = client.post(f"{API}/import", files={"file": ("cpl.xlsx", good, "application/octet-stream")},
                    headers=cast.headers["secas"])
    assert r.status_code == 200 and r.json()["entries"] == 1
    session.expire_all()
    assert count(session, CplEntry) == 2


def test_export_writes_formula_like_text_as_text(client, cast):
    """A model name such as '=1+1' is a text cell in the export, never a formula a spreadsheet would run."""
    cast.listed("PPMID", model="=HYPERLINK(\"http://attacker.example\",\"DM\")")
    r = client.get(f"{API}/export.xlsx", headers=cast.headers["guest"])
    cell = load_workbook(io.BytesIO(r.content))["CPL"]["B2"]
    assert cell.value == "=HYPERLINK(\"http://attacker.example\",\"DM\")" and cell.data_type == "s"
