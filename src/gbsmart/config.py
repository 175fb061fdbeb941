"""Settings for gbsmart, read from the environment (prefix ``GBSMART_``) and nowhere else."""

from __future__ import annotations

import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: the functions ``officer_only_functions`` may name (gateway/adt_service.py ``require_officer``)
OFFICER_FUNCTIONS = ("adt.upload", "quarantine.release", "quarantine.delete", "exit_quarantine")


class Settings(BaseSettings):
    """Everything configurable about a gbsmart installation."""

    model_config = SettingsConfigDict(env_prefix="GBSMART_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="Where the embedded database and keys live.")
    database_url: str = Field(default="", description="SQLAlchemy URL; default an SQLite file under data_dir.")
    secret_key: SecretStr | None = Field(
        default=None, description="Signs portal sessions and CSRF tokens; generated into data_dir if unset."
    )
    session_max_age_seconds: int = 8 * 3600
    chromium_path: str = Field(default="/usr/bin/chromium", description="Headless Chromium that prints paper PDFs.")
    token_ttl_days: int = 90
    # Change Board voting, SECMP0041 (seed 004). [configurable] in DOMAIN.md section 2.
    change_board_categories: list[str] = ["large_supplier", "small_supplier", "networks", "other"]
    change_board_tie_has_view: bool = False
    change_board_count_abstentions: bool = False
    change_board_min_agreeing_categories: int = 3
    # Signed CPL extracts (docs/decisions/0006-signed-cpl-extracts.md). Paths default under pki_dir.
    pki_dir: Path | None = Field(default=None, description="Keys and certificates; default data_dir/pki.")
    cpl_trust_anchor: Path | None = Field(
        default=None, description="PEM root certificate(s) a CPL extract must chain to; default pki_dir/root-ca.pem."
    )
    cpl_signing_key: Path | None = Field(
        default=None, description="SECAS's private key for signing CPL extracts; default pki_dir/secas-cpl-signer.key."
    )
    cpl_signing_key_password: SecretStr | None = None
    cpl_signing_certificate: Path | None = Field(
        default=None,
        description="Signer's certificate, then its issuing CA's; default pki_dir/secas-cpl-signer-chain.pem.",
    )
    cpl_signer_names: list[str] = Field(
        default=["SECAS (on behalf of the SEC Panel)"],
        description="Certificate common names allowed to sign CPL extracts (SECAS on behalf of the Panel, seed 004).",
    )
    cpl_extract_allow_gaps: bool = Field(
        default=False, description="Apply an extract whose sequence skips numbers (default: refuse, out of order)."
    )
    # CPL workbook import limits (issue 8 item 2; docs/cpl-and-smi.md "Import limits"): every door, one check.
    cpl_import_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1, description="Largest workbook file (413).")
    cpl_import_max_uncompressed_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1, description="Most the workbook's parts may unpack to, as the zip declares."
    )
    cpl_import_max_compression_ratio: int = Field(
        default=100, ge=1, description="Most the parts may unpack to, as a multiple of the file's size."
    )
    cpl_import_max_rows: int = Field(default=50_000, ge=1, description="Most rows, all sheets together.")
    cpl_import_max_errors: int = Field(default=100, ge=1, description="Bad-row errors listed (the total is given).")

    # Portal sessions and sign-in throttling (issue 8; docs/decisions/0013-server-side-sessions.md). A session
    # also ends session_max_age_seconds after sign-in, however busy.
    session_cookie_secure: bool = Field(
        default=True, description="Send the session cookie over https only (scripts/run: off, for http://127.0.0.1)."
    )
    session_idle_seconds: int = Field(default=3600, description="A portal session unused this long ends.")
    signin_account_max_failures: int = Field(
        default=5, description="Failed sign-ins to one username, within the account window, that lock it for a while."
    )
    signin_account_window_seconds: int = 900
    signin_address_max_failures: int = Field(
        default=50, description="Failed sign-ins from one address, any usernames, within its window, that lock it."
    )
    signin_address_window_seconds: int = 900
    # The SSI's second factor and officer-only functions (issue 15; docs/ssi-access.md, decisions/0033).
    second_factor_required_roles: list[str] = Field(
        default=["senior_responsible_officer", "authorised_responsible_officer"],
        description="Roles whose holders must turn on the TOTP second factor before any other page or API call works.",
    )
    second_factor_issuer: str = Field(default="gbsmart", description="The issuer name an authenticator app shows.")
    officer_only_functions: list[str] = Field(
        default=["adt.upload", "quarantine.release", "quarantine.delete", "exit_quarantine"],
        description="Functions only a Senior or Authorised Responsible Officer, signed in with a second factor, may "
                    "use (DP108): any of adt.upload, quarantine.release, quarantine.delete, exit_quarantine.",
    )

    # CPL extract signer identity (issue 8, forged extracts; docs/decisions/0011-cpl-signer-identity.md).
    cpl_signer_fingerprints: list[str] = Field(
        default=[],
        description="SHA-256 fingerprints of the DER certificates allowed to sign CPL extracts (JSON list; colons "
                    "optional); empty: the configured signing certificate's own (cpl_signing_certificate).",
    )
    cpl_signer_organisation: str = Field(
        default="SECAS", description="The organisation (O=) a CPL extract signer's certificate must name."
    )
    cpl_signer_oid: str = Field(
        default="2.25.288523155029413292663537248687472042129",
        description="An extended key usage or certificate policy OID the signer's certificate must carry; default "
                    "gbsmart's test CPL extract signing EKU (core.signing.CPL_EXTRACT_SIGNING).",
    )

    # DCC service gateway, DUIS codec (issue 10; docs/gateway.md)
    duis_schema_dir: Path | None = Field(default=None, description="DUIS XSD folder; default gbsmart/gateway/schema.")
    duis_max_body_bytes: int = Field(default=256 * 1024, ge=1, description="Largest DUIS body accepted (413).")
    duis_max_depth: int = Field(default=32, ge=2, description="Deepest element nesting a DUIS body may have.")
    gateway_dir: Path | None = Field(default=None, description="Gateway certificates, keys and log; default "
                                     "data_dir/gateway.")
    gateway_signing_key: Path | None = Field(default=None, description="The DCC's response-signing key (PEM); "
                                             "default gateway_dir/dcc-signing.key, generated if missing.")
    gateway_signing_certificate: Path | None = Field(default=None, description="Its certificate (PEM); default "
                                                     "gateway_dir/dcc-signing.pem.")
    gateway_dcc_user_id: str = Field(default="90-B3-D5-1F-30-00-00-02", description="The DCC's own User ID, the "
                                     "target of non-device requests (DCC Boxed's).")
    gateway_refresh_seconds: float = Field(default=5.0, gt=0, description="How often the gateway re-reads Users, "
                                           "registrations and device statuses.")
    # Target Response Times (DOMAIN.md section 6), in seconds, from the request's receipt
    trt_transform_seconds: float = Field(default=3.0, gt=0, description="TRT of a Transform (Pre-Command).")
    trt_on_demand_seconds: float = Field(default=30.0, gt=0, description="TRT of an on-demand device response.")
    trt_future_dated_seconds: float = Field(default=30.0, gt=0, description="TRT of a future-dated device "
                                            "response, from its execution time.")
    trt_non_device_seconds: float = Field(default=60.0, gt=0, description="TRT of a non-device response.")
    trt_firmware_seconds: float = Field(default=86_400.0, gt=0, description="TRT of a firmware payload's delivery "
                                        "to the device (the SRVs of trt_firmware_srvs), from the request.")
    trt_firmware_srvs: list[str] = Field(default=["11.1", "11.4"], description="The SRVs whose completion is a "
                                         "firmware payload delivered to the device (PM2; counted in CPM1).")
    # User Security Assessments (DOMAIN.md section 9; issue 14): the cycle table is rule data
    assessment_cycle_file: Path | None = Field(default=None, description="The assessment cycle table (TOML, "
                                               "the form of assessments/cycle.toml); default: the packaged one.")
    assessment_cycle_variant: str | None = Field(default=None, description="A variant of the cycle table to "
                                                 "apply, e.g. secmp0059 (an Other User's year 2 is Verification).")
    trt_alert_seconds: float = Field(default=60.0, gt=0, description="TRT of an alert's delivery after receipt.")
    gateway_workers: int = Field(default=1, ge=1, description="HTTP worker processes of `gbsmart gateway serve` "
                                 "when --workers is not given; 1 is one plain process (decision 0025).")
    gateway_journal_batch: int = Field(default=500, ge=1, description="Most journal rows written in one "
                                       "transaction.")
    # The message path's engine (issue 12; docs/decisions/0029-jetstream-message-path.md, docs/jetstream.md)
    message_engine: Literal["embedded", "jetstream"] = Field(default="embedded", description="Where the "
                                                             "gateway's durable request log lives: embedded (a "
                                                             "file under gateway_dir, one gateway) or jetstream "
                                                             "(NATS JetStream, shared by every gateway process).")
    nats_urls: Annotated[list[str], NoDecode] = Field(default=["nats://127.0.0.1:4222"], description="NATS "
                                                      "servers for the jetstream engine, separated by commas.")
    nats_stream: str = Field(default="GBSMART_REQUESTS", pattern=r"^[A-Za-z0-9_-]{1,64}$",
                             description="JetStream stream of the request log (subjects nats_subject_prefix.>).")
    nats_subject_prefix: str = Field(default="gbsmart.req", pattern=r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$",
                                     description="Subject prefix of the request log: <prefix>.<originator>.")
    nats_replicas: int = Field(default=1, ge=1, le=5, description="Copies JetStream keeps of each stream "
                               "(3 in a 3-node cluster); used when the stream is created.")
    gateway_metrics_token: SecretStr | None = Field(default=None, description="Bearer token Prometheus "
                                                    "scrapes the gateway's /metrics with; unset: /metrics is off.")
    gateway_background_lease: bool = Field(default=False, description="With the jetstream engine: the background "
                                           "work goes to whichever gateway process holds a lease in JetStream "
                                           "(every process started alike; another takes over within "
                                           "gateway_lease_seconds when the holder stops); gateway_background is "
                                           "then not used.")
    gateway_adt_share_seconds: float = Field(default=1.0, ge=0.1, le=60, description="With the jetstream engine: "
                                             "how often each gateway process shares its Anomaly Detection counts "
                                             "with the others (the most the shared counts lag behind).")
    gateway_lease_seconds: float = Field(default=10.0, ge=1, le=300, description="How long the background "
                                         "lease lasts unless renewed (renewed every third of it).")
    gateway_background: bool = Field(default=True, description="With the jetstream engine: this gateway process "
                                     "also runs the device simulator, the northbound cache and the alerts "
                                     "(exactly one process should); false: it serves requests only.")
    gateway_allow_test_keys: bool = Field(default=False, description="Let `gbsmart gateway send --test-key` make a "
                                          "test signing key for a User ID and trust it (never in production).")
    gateway_wan_coverage_file: Path | None = Field(default=None, description="JSON table of SM WAN coverage by "
                                                   "postcode area for 12.1 Request WAN Matrix; default the built-in "
                                                   "illustrative table (gateway/wan.py).")
    # Service management (issue 13; docs/service.md)
    service_incidents_file: Path | None = Field(default=None, description="Incident categories (Target "
                                                "Resolution Times) and types with their questions; default the "
                                                "packaged service/incidents.toml.")
    service_performance_file: Path | None = Field(default=None, description="Code Performance Measures' target "
                                                  "and minimum service levels; default the packaged "
                                                  "service/performance.toml.")
    service_ssi_probe_url: str = Field(default="http://127.0.0.1:8000/healthz", description="What `gbsmart "
                                       "service probe` asks every service_ssi_probe_seconds to record Self-Service "
                                       "Interface availability (CPM6): the portal's /healthz.")
    service_ssi_probe_seconds: float = Field(default=60.0, ge=1.0, le=3600.0, description="How often the SSI "
                                             "probe asks (seconds).")
    # Device simulator and response delivery (issue 10 point 4; docs/gateway.md "Device responses and delivery")
    simulator_enabled: bool = Field(default=True, description="Complete Send Command requests with the device "
                                    "simulator and deliver the responses; off: they stay acknowledged (I99 only).")
    simulator_profiles: Path | None = Field(default=None, description="TOML file of device simulator profiles "
                                            "(latency and failures per Device Type and CSP Region); default: the "
                                            "simulator_* settings for every device.")
    simulator_latency_seconds: float = Field(default=0.5, ge=0, description="Mean time a simulated device takes "
                                             "to answer a request.")
    simulator_jitter_seconds: float = Field(default=0.25, ge=0, description="Latency spread: uniform within "
                                            "plus or minus this of the mean (never below 0).")
    simulator_failure_rate: float = Field(default=0.01, ge=0, le=1, description="Share of device requests that "
                                          "fail (E20 / E21 responses).")
    simulator_seed: int | None = Field(default=None, description="Fixed random seed for the simulator's "
                                       "latencies and failures (tests); default: random.")
    simulator_max_pending: int = Field(default=100_000, ge=1, description="Most device requests awaiting their "
                                       "simulated response; more wait (back-pressure).")
    delivery_concurrency: int = Field(default=16, ge=1, description="Most response POSTs to Users' endpoints "
                                      "in flight at once.")
    delivery_timeout_seconds: float = Field(default=10.0, gt=0, description="How long one POST to a User's "
                                            "endpoint may take before it counts as failed.")
    delivery_retry_base_seconds: float = Field(default=1.0, gt=0, description="Wait before the first retry of a "
                                               "failed delivery; doubled after each failure.")
    delivery_retry_max_seconds: float = Field(default=300.0, gt=0, description="Longest wait between delivery "
                                              "retries (the back-off's cap).")
    # device alerts: intake, routing, throttling (docs/alerts.md "Device alerts: intake, routing, throttling")
    alerts_catalogue_file: Path | None = Field(default=None, description="TOML catalogue of GBCS alert codes "
                                               "(recipients, priority class, throttle exclusion) and the throttle "
                                               "rule; default the packaged alerts/catalogue.toml.")
    alerts_intake_batch: int = Field(default=2000, ge=1, description="Most ingested alerts written to the alerts "
                                     "table in one transaction.")
    alerts_api_max_batch: int = Field(default=5000, ge=1, description="Most device alerts one POST /api/v1/alerts "
                                      "may carry.")
    alerts_api_max_skew_seconds: float = Field(default=300.0, gt=0, description="How far a signed alert batch's "
                                               "sent_at may be from the gateway's clock (older: refused as a "
                                               "possible replay).")
    alerts_intake_max_pending: int = Field(default=20000, ge=1, description="Back-pressure: while this many "
                                           "ordinary (throttleable) alerts are being taken in, POST /api/v1/alerts "
                                           "answers 429 with Retry-After to a batch holding any (power notices and "
                                           "exclusion-list alerts are always taken).")
    alerts_api_retry_after_seconds: int = Field(default=1, ge=1, le=600, description="The Retry-After the alert API "
                                                "gives with a 429 while the intake is full.")
    alerts_spurious_file: Path | None = Field(default=None, description="TOML of the device simulator's spurious "
                                              "alert generator (rates per code and CSP Region); empty: off.")
    # certificate validity and Signed Pre-Commands (docs/gateway.md "Certificate validity")
    gateway_certificate_validity: Literal["enforce", "warn"] = Field(
        default="enforce", description="A signing certificate outside its validity dates at a request's receipt: "
                                       "enforce refuses the request, warn accepts it and logs a warning.")
    gateway_allow_expired_test_certificates: bool = Field(
        default=False, description="Accept the DCC Boxed test certificates (marked by `gateway load-boxed-jar`) "
                                   "past their expiry, with a warning, even under enforce; scripts/run sets it.")
    # Anomaly Detection Thresholds (DOMAIN.md section 6; docs/gateway.md "Anomaly detection and quarantine")
    adt_period_seconds: int = Field(default=86400, ge=60, description="The ADT period: requests are counted per "
                                    "User ID and SRV in windows this long (UTC, from midnight for a day).")
    adt_default_warning: int | None = Field(default=None, ge=0, description="Warning threshold for an SRV a User "
                                            "has set none for (empty: none).")
    adt_default_quarantine: int | None = Field(default=None, ge=0, description="Quarantine threshold for an SRV a "
                                               "User has set none for (empty: none).")
    adt_dcc_default_quarantine: int | None = Field(default=None, ge=0, description="DCC-wide quarantine threshold "
                                                   "for an SRV the DCC has set none for, across all Users (empty: "
                                                   "none).")
    # The power outage rule and DCC Alerts (issue 11; docs/alerts.md "Power outages and deadlines")
    alerts_outage_file: Path | None = Field(default=None, description="TOML file of the power outage rule (wait, "
                                            "deadlines, window, isolated limit) and the DCC Alert codes; default "
                                            "the packaged alerts/outage.toml.")
    alerts_outage_tick_seconds: float = Field(default=0.5, gt=0, description="How often the outage tracker and the "
                                              "DCC Alert sources look for work that is due.")
    alerts_dcc_backfill_hours: float = Field(default=48.0, ge=0, description="SMI status changes (DeviceSuspended / "
                                             "DeviceRestored) older than this when picked up are not sent as DCC "
                                             "Alerts (a first start on an old inventory).")
    # The portal over alerts (docs/alerts.md "The portal: alerts dashboard and broadcasts")
    alerts_broadcast_refresh_seconds: int = Field(default=60, ge=1, le=3600, description="How often every portal "
                                                  "page asks again for the DCC Service Alerts broadcast banner "
                                                  "(seed 004: Alert Broadcast Refresh, every minute).")

    # Traffic management and the northbound cache (issue 11; docs/alerts.md "Traffic management and the northbound
    # cache")
    alerts_traffic_file: Path | None = Field(default=None, description="TOML file of priority classes, per-User "
                                             "delivery capacity and retention per kind; default the packaged "
                                             "gbsmart/alerts/traffic.toml.")
    northbound_concurrency: int = Field(default=64, ge=1, description="Most northbound POSTs (alerts and "
                                        "responses) in flight at once across all Users.")
    northbound_sweep_seconds: float = Field(default=30.0, gt=0, description="How often undelivered northbound "
                                            "messages past their expiry are marked expired.")
    northbound_retry_max_seconds: float = Field(default=10.0, gt=0, description="Longest a User's delivery "
                                                "back-off lasts in the Northbound (when its endpoint fails), if "
                                                "delivery_retry_max_seconds is not shorter: after the endpoint comes "
                                                "back its backlog starts going out at most this long later.")

    @field_validator("cpl_signer_fingerprints")
    @classmethod
    def _sha256_fingerprints(cls, value: list[str]) -> list[str]:
        """Each as ``fingerprint()`` writes it: upper-case hex pairs joined by colons."""
        out = []
        for given in value:
            hexdigits = re.sub(r"[\s:]", "", given).upper()
            if not re.fullmatch(r"[0-9A-F]{64}", hexdigits):
                raise ValueError(f"{given!r} is not a SHA-256 fingerprint (64 hex digits, colons optional)")
            out.append(":".join(hexdigits[i:i + 2] for i in range(0, 64, 2)))
        return out

    @field_validator("officer_only_functions")
    @classmethod
    def _known_officer_functions(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in OFFICER_FUNCTIONS:
                raise ValueError(f"{name!r} is not an officer function: name any of {', '.join(OFFICER_FUNCTIONS)}")
        return value

    @field_validator("nats_urls", mode="before")
    @classmethod
    def _url_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for url in value:
                if not isinstance(url, str) or not re.fullmatch(r"(nats|tls)://[^\s/,]+", url):
                    raise ValueError(f"{url!r} is not a NATS server URL such as nats://127.0.0.1:4222")
            if not value:
                raise ValueError("name at least one NATS server, such as nats://127.0.0.1:4222")
        return value

    @field_validator("cpl_signer_oid")
    @classmethod
    def _dotted_oid(cls, value: str) -> str:
        if not re.fullmatch(r"[0-2](\.(0|[1-9][0-9]*))+", value):
            raise ValueError(f"{value!r} is not a dotted object identifier such as 1.3.6.1.5.5.7.3.36")
        return value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'gbsmart.db').as_posix()}"

    def resolved_pki_dir(self) -> Path:
        return self.pki_dir if self.pki_dir is not None else self.data_dir / "pki"

    def resolved_cpl_trust_anchor(self) -> Path:
        return self.cpl_trust_anchor or self.resolved_pki_dir() / "root-ca.pem"

    def resolved_cpl_signing_key(self) -> Path:
        return self.cpl_signing_key or self.resolved_pki_dir() / "secas-cpl-signer.key"

    def resolved_cpl_signing_certificate(self) -> Path:
        return self.cpl_signing_certificate or self.resolved_pki_dir() / "secas-cpl-signer-chain.pem"

    def resolved_gateway_dir(self) -> Path:
        return self.gateway_dir if self.gateway_dir is not None else self.data_dir / "gateway"

    def resolved_extracts_dir(self) -> Path:
        """Where issued CPL extract files are written."""
        return self.data_dir / "extracts"

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated once and kept in data_dir (never in the repository)."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
