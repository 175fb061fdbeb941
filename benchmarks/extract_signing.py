"""Signing and verifying a CPL extract, and (optionally) a signed extract applied end to end to a national-size SMI.

    .venv/bin/python benchmarks/extract_signing.py                      # 10,000 entries: sign and verify
    .venv/bin/python benchmarks/extract_signing.py --entries 50000 --repeat 9
    .venv/bin/python benchmarks/extract_signing.py --smi-devices 1000000 --db sqlite
    .venv/bin/python benchmarks/extract_signing.py --smi-devices 54000000 --db postgresql

The first form prints, for an extract of N entries, the median time to canonicalise the payload, sign it
(ECDSA P-256, SHA-256), write the file, and verify it as the DCC does (parse, chain to the trust anchor,
signature over the exact payload bytes, sequence, entries), plus the file size.

With ``--smi-devices`` it also loads that many synthetic devices with part C's generator
(``gbsmart.smi.generate``), then issues and applies three signed extracts through ``issue_extract`` and
``apply_extract``: the catalogue (nothing changes), the catalogue with models covering about ``--removed``
devices Withdrawn (they are suspended) and the catalogue again (they are restored), printing each phase's
seconds. Figures are printed as a table and as one JSON line (``RESULT {...}``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from gbsmart.config import Settings  # noqa: E402
from gbsmart.core.clock import FixedClock  # noqa: E402
from gbsmart.core.signing import create_test_pki, digest, load_certificates, load_private_key, sign  # noqa: E402
from gbsmart.cpl.extracts import FORMAT, canonical_json, normalise_entries, signed_document, verify_extract  # noqa: E402

console = Console()
NOW = datetime(2022, 7, 1, 9, 0, tzinfo=UTC)
TYPES = ("CH", "ESME_SINGLE", "ESME_TWIN", "ESME_POLYPHASE", "GSME", "PPMID", "HCALCS")


def synthetic_entries(n: int) -> list[dict]:
    """``n`` CPL entries shaped like gbsmart.cpl.service.extract_entries' (about 300 bytes each)."""
    return [{"manufacturer": f"Manufacturer {i // 400:03d} Metering Ltd", "model": f"Model-{i // 20:05d}",
             "hardware_version": f"HW{(i // 5) % 4}", "firmware_version": f"{i % 5}.{i % 7}.{i}",
             "physical_device_type": TYPES[i % len(TYPES)], "status": "Active" if i % 17 else "Withdrawn",
             "technical_specification": "SMETS2 v4.1", "gbcs_version": "3.2", "cpa_expiry": "2027-06-30",
             "smets1": False} for i in range(n)]


def median_seconds(fn, repeat: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def signing(args: argparse.Namespace, work: Path, figures: dict) -> None:
    pki = create_test_pki(work / "pki", now=NOW)
    settings = Settings(data_dir=work, pki_dir=pki.directory)
    key, chain = load_private_key(pki.signer_key), load_certificates(pki.signer_chain)
    entries = normalise_entries(synthetic_entries(args.entries))
    body = {"format": FORMAT, "sequence": 1, "issued_at": NOW.isoformat(), "issuer": "SECAS (on behalf of the SEC "
            "Panel)", "entries": entries, "removals": []}
    text = canonical_json(body)
    data = text.encode("utf-8")
    signature = sign(key, data)
    document = signed_document(text, signature, chain)
    path = work / "cpl-extract-1.json"
    path.write_text(document)
    figures.update(entries=args.entries, payload_bytes=len(data), file_bytes=path.stat().st_size)
    figures["canonicalise_s"] = round(median_seconds(lambda: canonical_json(body), args.repeat), 4)
    figures["sha256_s"] = round(median_seconds(lambda: digest(data), args.repeat), 4)
    figures["sign_s"] = round(median_seconds(lambda: sign(key, data), args.repeat), 4)
    figures["write_file_s"] = round(median_seconds(lambda: path.write_text(signed_document(text, signature, chain)),
                                                   args.repeat), 4)
    figures["verify_s"] = round(median_seconds(
        lambda: verify_extract(path, settings=settings, at=NOW, last_applied=0), args.repeat), 4)


def end_to_end(args: argparse.Namespace, work: Path, figures: dict) -> None:
    """Part C's generator and figures, with every extract signed, verified and applied by apply_extract."""
    from smi_scale import pick_removed

    import gbsmart.models  # noqa: F401
    import gbsmart.models.cpl  # noqa: F401
    import gbsmart.models.extracts  # noqa: F401
    import gbsmart.models.smi  # noqa: F401
    from gbsmart.core.context import Actor, Ctx
    from gbsmart.core.db import Base, make_engine, make_sessionmaker
    from gbsmart.cpl.extracts import issue_extract, model_key
    from gbsmart.smi.extract_apply import apply_extract
    from gbsmart.smi.generate import catalogue_entries, generate_inventory

    def run(url: str) -> None:
        clock = FixedClock(NOW)
        pki = create_test_pki(work / "pki-e2e", now=NOW)
        settings = Settings(data_dir=work / "var", database_url=url, pki_dir=pki.directory)
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        factory = make_sessionmaker(engine)

        def ctx_of(session, who: str) -> Ctx:  # noqa: ANN001
            return Ctx(session=session, actor=Actor.system(who), clock=clock, settings=settings)

        session = factory()
        started = time.perf_counter()
        generated = generate_inventory(ctx_of(session, "benchmark"), args.smi_devices, seed=1)
        session.commit()
        figures.update(smi_devices=generated.devices, smi_load_s=round(time.perf_counter() - started, 1))
        removed, covered = pick_removed(session, args.removed)
        session.rollback()
        from sqlalchemy import text

        gone = {tuple(r) for r in session.execute(text(
            "SELECT manufacturer, model, hardware_version, firmware_version FROM smi_device_models WHERE id IN "
            f"({', '.join(str(i) for i in removed) or 'NULL'})"))}
        session.rollback()
        catalogue = catalogue_entries()
        withdrawn = [{**e, "status": "Withdrawn"} if model_key(e) in gone else e for e in catalogue]
        figures.update(removed_models=len(gone), removed_models_cover=covered)
        for sequence, entries in ((1, catalogue), (2, withdrawn), (3, catalogue)):
            started = time.perf_counter()
            row = issue_extract(ctx_of(session, "secas"), entries=entries)
            session.commit()
            figures[f"extract{sequence}_issue_s"] = round(time.perf_counter() - started, 3)
            report = apply_extract(ctx_of(session, "dcc"), Path(row.file_path))
            started = time.perf_counter()
            session.commit()
            figures[f"extract{sequence}_commit_s"] = round(time.perf_counter() - started, 1)
            figures[f"extract{sequence}_suspended"] = report.suspended
            figures[f"extract{sequence}_restored"] = report.restored
            figures[f"extract{sequence}_events"] = report.events
            for phase, seconds in report.seconds.items():
                figures[f"extract{sequence}_{phase}_s"] = seconds
            console.print(f"extract {sequence}: suspended {report.suspended:,}, restored {report.restored:,}, "
                          f"{report.seconds}")
        session.close()
        engine.dispose()

    if args.db == "sqlite":
        run(f"sqlite:///{work / 'smi.db'}")
    else:
        from _pg import bench_server

        with bench_server() as server:
            run(server.new_database("extract_bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smi-devices", type=int, default=0, help="also apply signed extracts to this many devices")
    parser.add_argument("--removed", type=int, default=5_000_000, help="devices the withdrawn models should cover")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--dir", default=None, help="working directory (default: a temporary one, deleted after)")
    args = parser.parse_args()
    figures: dict = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "nproc": os.cpu_count(),
                     "loadavg_at_start": [round(x, 1) for x in os.getloadavg()]}
    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="gbsmart-extract-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        signing(args, work, figures)
        if args.smi_devices:
            figures["db"] = args.db
            end_to_end(args, work, figures)
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    table = Table(title=f"Signed CPL extract, {args.entries:,} entries (median of {args.repeat})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for k, v in figures.items():
        table.add_row(k, f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v))
    console.print(table)
    print("RESULT " + json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
