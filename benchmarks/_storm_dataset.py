"""The alert storm scenario's demo dataset, built set-based into a (temporary) SQLite database in seconds.

``regions`` regional outages of ``hubs`` premises each. Every premises has a Communications Hub (CHF) and an
ESME, both Commissioned, of the DCC Boxed Device Models (``gateway/demo.py``, loaded first: the gateway's own
demo organisations and User IDs come with it); its MPAN (13 digits: the region's DNO area, then a serial) is
registered to one of ``suppliers`` Import Suppliers and to the region's Electricity Distributor (one per
region), each Party with its own DCC User ID (``supplier_user(k)``, ``network_user(r)``), and each User's
endpoint registered in ``gateway_endpoints`` (``gbsmart gateway endpoint set``) when ``urls`` are given.

Rows go in with ``executemany`` on the raw connection in one transaction (as ``smi/generate.py`` does); the
scenario's lookups (``Dataset``: hub -> MPAN and Electricity Distributor, the storm's devices) come from the
same numpy columns, not read back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from sqlalchemy import select

#: the scenario's Device IDs (00-DC-A5-...): hub of premises p = BASE + 2p, its ESME = BASE + 2p + 1
DEVICE_BASE = 0x00DC_A500_0000_0000
#: DNO areas (MPAN prefixes) and CSP regions of the regional outages, in turn: Eastern (Central), London (South)
AREAS, CSP_REGIONS = (10, 12, 11, 19), (2, 3, 2, 3)
REGISTERED_FROM = date(2021, 4, 1)


def supplier_user(k: int) -> str:
    return f"90-B3-D5-1F-A5-01-00-{k:02X}"


def network_user(r: int) -> str:
    return f"90-B3-D5-1F-A5-02-00-{r:02X}"


def eui(value: int) -> str:
    raw = f"{value:016X}"
    return "-".join(raw[i:i + 2] for i in range(0, 16, 2))


@dataclass
class Dataset:
    hubs_per_region: int
    regions: int
    suppliers: int
    hub_ids: list[list[str]] = field(default_factory=list)   # per region
    mpans: list[list[int]] = field(default_factory=list)     # per region, beside hub_ids
    meter_ids: list[str] = field(default_factory=list)       # every ESME
    supplier_users: list[str] = field(default_factory=list)
    network_users: list[str] = field(default_factory=list)   # the Electricity Distributor of region r at r
    seconds: float = 0.0

    @property
    def users(self) -> list[str]:
        return [*self.supplier_users, *self.network_users]

    def premises(self) -> dict[str, tuple[str, str]]:
        """Communications Hub ID -> (MPAN, Electricity Distributor's User ID), for the outage tracker."""
        return {hub: (str(mpan), self.network_users[r]) for r in range(self.regions)
                for hub, mpan in zip(self.hub_ids[r], self.mpans[r], strict=True)}

    def all_hubs(self) -> list[str]:
        return [h for region in self.hub_ids for h in region]


def build_dataset(url: str, hubs_per_region: int, *, regions: int = 2, suppliers: int = 4, seed: int = 11,
                  urls: dict[str, str] | None = None) -> Dataset:
    """Create the schema at ``url`` (a new SQLite database) and load the scenario's parties and inventory."""
    import gbsmart.models  # noqa: F401  (registers every table)
    from gbsmart.config import Settings
    from gbsmart.core.clock import FixedClock
    from gbsmart.core.context import Actor, Ctx
    from gbsmart.core.db import Base, make_engine, make_sessionmaker
    from gbsmart.gateway.demo import load_gateway_demo
    from gbsmart.models.parties import DccUser, DccUserRole, Organisation
    from gbsmart.models.smi import SmiDeviceModel
    from gbsmart.simulator.service import set_endpoint
    from gbsmart.smi.enums import DeviceType, SmiStatus
    from gbsmart.smi.rules import DEVICE_TYPE_CODE, STATUS_CODE, eui64_to_int

    if regions > len(AREAS):
        raise ValueError(f"at most {len(AREAS)} regions")
    started = time.perf_counter()
    data = Dataset(hubs_per_region, regions, suppliers)
    rng = np.random.default_rng(seed)
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    now = datetime.now(UTC)
    with make_sessionmaker(engine)() as session:
        ctx = Ctx(session=session, actor=Actor.system("benchmark"), settings=Settings(database_url=url),
                  clock=FixedClock(now))
        load_gateway_demo(ctx)
        orgs: dict[str, int] = {}
        parties = [(supplier_user(k), f"Storm Supplier {k}", "large_supplier", ("IS",))
                   for k in range(1, suppliers + 1)]
        parties += [(network_user(r), f"Storm Distributor {r}", "electricity_network", ("ED",))
                    for r in range(1, regions + 1)]
        user_row: dict[str, int] = {}
        for user_id, name, category, roles in parties:
            org = Organisation(name=name, short_name=name.split()[-2][:3].upper() + name.split()[-1], kind="sec_party",
                               party_category=category, source="benchmark (alert storm)", created_at=now)
            session.add(org)
            session.flush()
            orgs[user_id] = org.id
            user = DccUser(organisation_id=org.id, eui64=user_id, role_rows=[DccUserRole(role=r) for r in roles])
            session.add(user)
            session.flush()
            user_row[user_id] = user.id
        data.supplier_users = [supplier_user(k) for k in range(1, suppliers + 1)]
        data.network_users = [network_user(r) for r in range(1, regions + 1)]
        model = {p: session.scalar(select(SmiDeviceModel.id).where(SmiDeviceModel.physical_device_type == p,
                                                                   SmiDeviceModel.manufacturer == "DCCB"))
                 for p in ("CH", "ESME")}
        driver = session.connection().connection.driver_connection

        def insert_many(sql: str, rows: Any) -> None:  # SQLite's connection, or a psycopg cursor (PostgreSQL)
            if hasattr(driver, "executemany"):
                driver.executemany(sql, rows)
            else:
                with driver.cursor() as cursor:
                    cursor.executemany(sql.replace("?", "%s"), list(rows))
        commissioned = STATUS_CODE[SmiStatus.COMMISSIONED]
        chf, esme = DEVICE_TYPE_CODE[DeviceType.CHF], DEVICE_TYPE_CODE[DeviceType.ESME]
        day = REGISTERED_FROM.isoformat()
        supplier_orgs = np.array([orgs[u] for u in data.supplier_users])
        supplier_rows = np.array([user_row[u] for u in data.supplier_users])
        for r in range(regions):
            p = r * hubs_per_region + np.arange(hubs_per_region, dtype=np.int64)
            hub_int = DEVICE_BASE + 2 * p
            mpan = AREAS[r] * 10**11 + 10**10 + p
            hubs = [eui(int(v)) for v in hub_int]
            meters = [eui(int(v) + 1) for v in hub_int]
            data.hub_ids.append(hubs)
            data.mpans.append(mpan.tolist())
            data.meter_ids.extend(meters)
            stored_hub = [eui64_to_int(h) for h in hubs]
            stored_meter = [eui64_to_int(m) for m in meters]
            mpans = mpan.tolist()
            rows = [(h, chf, model["CH"], commissioned, day, m, None, None, CSP_REGIONS[r])
                    for h, m in zip(stored_hub, mpans, strict=True)]
            rows += [(e, esme, model["ESME"], commissioned, day, m, h, None, CSP_REGIONS[r])
                     for e, h, m in zip(stored_meter, stored_hub, mpans, strict=True)]
            insert_many("INSERT INTO smi_devices (device_id, device_type, device_model_id, lifecycle_status, "
                            "lifecycle_date, mpxn, chf_device_id, associated_meter_id, csp_region) "
                            "VALUES (?,?,?,?,?,?,?,?,?)", rows)
            pick = rng.integers(0, suppliers, size=hubs_per_region)
            network = data.network_users[r]
            insert_many("INSERT INTO smi_registrations (mpxn, fuel, supplier_org_id, supplier_user_id, "
                            "network_operator_org_id, network_operator_user_id, valid_from) VALUES (?,?,?,?,?,?,?)",
                            zip(mpans, ["E"] * hubs_per_region, supplier_orgs[pick].tolist(),
                                supplier_rows[pick].tolist(), [orgs[network]] * hubs_per_region,
                                [user_row[network]] * hubs_per_region, [day] * hubs_per_region, strict=True))
        for user_id, endpoint in (urls or {}).items():
            set_endpoint(session, user_id, endpoint, now)
        session.commit()
    engine.dispose()
    data.seconds = round(time.perf_counter() - started, 2)
    return data


def set_endpoints(url: str, urls: dict[str, str]) -> None:
    """Register (or replace) the Users' endpoints in an existing scenario database."""
    from gbsmart.core.db import make_engine, make_sessionmaker
    from gbsmart.simulator.service import set_endpoint

    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        for user_id, endpoint in urls.items():
            set_endpoint(session, user_id, endpoint, datetime.now(UTC))
        session.commit()
    engine.dispose()
