"""The DUIS codec on one core: parse and validate, verify the XML Signature, sign a response; beside the ceiling.

    .venv/bin/python benchmarks/duis_codec.py            # about 30 s
    .venv/bin/python benchmarks/duis_codec.py --quick    # about 10 s, for checks
    .venv/bin/python benchmarks/duis_codec.py --profile  # also where the verify time goes (cProfile)
    PYTHONPATH=DIR .venv/bin/python benchmarks/duis_codec.py   # DIR holding xmlsec: also python-xmlsec's rates

Requests are RTDS-shaped (4.1.1 Read Instantaneous Import Registers, 1,399 bytes signed), each with its own
counter, signed beforehand with a test organisation's key (ECDSA P-256) as a DUIS User signs them. Each phase
runs in this one process, single-threaded, and is counted in CPU seconds like ``openssl speed``: ``parse``
(hardened parse, schema version, RequestID, XSD validation: ``DuisCodec.parse``), ``verify``
(``signatures.verify_request`` on the parsed request: signature shape, keystore lookup, signxml),
``parse+verify`` (both, what the gateway does per request) and ``sign`` (an I99 response built and signed with
the DCC's key). The ceiling, in the same run: ``openssl speed -seconds 2 ecdsap256`` (ECDSA P-256 sign/s and
verify/s on one core), and the same verify through Python's ``cryptography`` (no XML); for decision 0019's
options, ``gateway/fastsig.py`` (the DUIS-only path on libxml2's C14N, decision 0023: verify, parse+verify,
sign, and the whole round trip, as above) and, when importable, python-xmlsec.
Figures are printed as a table, then as one JSON line (``RESULT {...}``).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402
from lxml import etree  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from gbsmart.gateway import fastsig  # noqa: E402
from gbsmart.gateway.duis import DuisCodec  # noqa: E402
from gbsmart.gateway.errors import SignatureMismatch  # noqa: E402
from gbsmart.gateway.keystore import Keystore  # noqa: E402
from gbsmart.gateway.responses import acknowledgement  # noqa: E402
from gbsmart.gateway.signatures import sign, verify_request  # noqa: E402
from gbsmart.gateway.xml import duis_schema  # noqa: E402

console = Console()
SUPPLIER = "90-B3-D5-1F-30-01-00-00"
DSP = "90-B3-D5-1F-30-00-00-02"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def organisation(ca_key: ec.EllipticCurvePrivateKey, user_id: str, serial: int):  # noqa: ANN201
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "87")])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "BENCH")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(serial).not_valid_before(NOW - timedelta(days=1))
            .not_valid_after(NOW + timedelta(days=365)).sign(ca_key, hashes.SHA256()))
    return key, cert


def request_bytes(counter: int) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<sr:Request xmlns:sr="http://www.dccinterface.co.uk/'
        'ServiceUserGateway" schemaVersion="5.4"><sr:Header>'
        f"<sr:RequestID>{SUPPLIER}:00-DB-12-34-56-78-90-A0:{counter}</sr:RequestID>"
        "<sr:CommandVariant>1</sr:CommandVariant><sr:ServiceReference>4.1</sr:ServiceReference>"
        "<sr:ServiceReferenceVariant>4.1.1</sr:ServiceReferenceVariant></sr:Header>"
        "<sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body></sr:Request>"
    ).encode()


def rate(fn: Callable[[int], object], n: int) -> float:
    """Calls of ``fn(i)`` per CPU second of this process, as ``openssl speed`` counts (user CPU time, not
    wall-clock), so that a machine shared with other work does not move the figures or the ratios."""
    started = time.process_time()
    for i in range(n):
        fn(i)
    return n / (time.process_time() - started)


def openssl_speed(seconds: int) -> tuple[float, float]:
    """(sign/s, verify/s) of ECDSA P-256 on one core, from ``openssl speed``."""
    run = subprocess.run(["openssl", "speed", "-seconds", str(seconds), "ecdsap256"], capture_output=True,
                         text=True, timeout=120, check=True)
    line = next(x for x in run.stdout.splitlines() if "nistp256" in x)
    sign_per_s, verify_per_s = (float(v) for v in re.findall(r"[\d.]+", line.split(")")[-1])[-2:])
    return sign_per_s, verify_per_s


#: (label, file the function is in, function name) for the profile table; C methods have the file "~"
PROFILED = (
    ("signxml XMLVerifier.verify, all of it", "signxml/verifier.py", "verify"),
    ("  signxml re-parses the document (processor._fromstring)", "signxml/processor.py", "_fromstring"),
    ("  signxml re-serialises it (processor._tostring)", "signxml/processor.py", "_tostring"),
    ("  signxml digests the reference (_verify_reference)", "signxml/verifier.py", "_verify_reference"),
    ("  signxml checks SignedInfo's signature (_verify_signature_with_pubkey)", "signxml/verifier.py",
     "_verify_signature_with_pubkey"),
    ("    of which ECDSA P-256 verify (OpenSSL via cryptography)", "~", "ECPublicKey"),
    ("  signxml checks the certificate's dates (_check_cert_validity)", "signxml/verifier.py", "_check_cert_validity"),
    ("gbsmart checks the signature's shape (_check_shape)", "gateway/signatures.py", "_check_shape"),
)


def where_verify_time_goes(verify: Callable[[int], object], n: int) -> list[tuple[str, float]]:
    """The share of ``verify``'s time (cumulative, from cProfile) spent in each of PROFILED."""
    profile = cProfile.Profile()
    profile.enable()
    for i in range(n):
        verify(i)
    profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = max(row[3] for row in stats.values())
    found = []
    for label, where, function in PROFILED:
        cumulative = sum(row[3] for (file, _, name), row in stats.items()
                         if (file.endswith(where) and name == function) or (where == "~" and function in name
                                                                            and "verify" in name))
        found.append((label, cumulative / total))
    return found


def xmlsec_rates(bodies: list[bytes], unsigned: bytes, user_key: ec.EllipticCurvePrivateKey,
                 user_cert: x509.Certificate, n: int) -> dict[str, int]:
    """python-xmlsec (libxmlsec1) parse + verify and build + sign rates, if it is importable (not a dependency:
    ``pip install --target DIR xmlsec`` and put DIR on PYTHONPATH to size decision 0019's option 2)."""
    try:
        import xmlsec  # type: ignore[import-not-found]
    except ImportError:
        return {}
    from cryptography.hazmat.primitives import serialization

    public = xmlsec.Key.from_memory(user_cert.public_bytes(serialization.Encoding.PEM),
                                    xmlsec.constants.KeyDataFormatCertPem)
    private = xmlsec.Key.from_memory(user_key.private_bytes(serialization.Encoding.PEM,
                                                            serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption()),
                                     xmlsec.constants.KeyDataFormatPem)

    def verify(i: int) -> None:
        root = etree.fromstring(bodies[i])
        context = xmlsec.SignatureContext()
        context.key = public
        context.verify(xmlsec.tree.find_node(root, xmlsec.constants.NodeSignature))

    def sign_one(i: int) -> bytes:
        root = etree.fromstring(unsigned)
        signature = xmlsec.template.create(root, xmlsec.constants.TransformExclC14N,
                                           xmlsec.constants.TransformEcdsaSha256, ns="ds")
        root.append(signature)
        reference = xmlsec.template.add_reference(signature, xmlsec.constants.TransformSha256, uri="")
        xmlsec.template.add_transform(reference, xmlsec.constants.TransformEnveloped)
        xmlsec.template.add_transform(reference, xmlsec.constants.TransformExclC14N)
        context = xmlsec.SignatureContext()
        context.key = private
        context.sign(signature)
        return bytes(etree.tostring(root))

    tampered = bodies[0].replace(b":1000<", b":1009<")
    try:
        verify_tampered = etree.fromstring(tampered)
        context = xmlsec.SignatureContext()
        context.key = public
        context.verify(xmlsec.tree.find_node(verify_tampered, xmlsec.constants.NodeSignature))
        raise AssertionError("xmlsec accepted a tampered request")
    except xmlsec.Error:
        pass
    return {"xmlsec_parse_verify_rps": round(rate(verify, n)), "xmlsec_sign_rps": round(rate(sign_one, n))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer requests and a 1 s openssl run")
    parser.add_argument("--requests", type=int, default=0, help="requests per phase (default 3000, quick 600)")
    parser.add_argument("--profile", action="store_true", help="also show where the verify time goes")
    args = parser.parse_args()
    n = args.requests or (600 if args.quick else 3000)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    user_key, user_cert = organisation(ca_key, SUPPLIER, 1)
    dsp_key, dsp_cert = organisation(ca_key, DSP, 2)
    keystore = Keystore()
    keystore.add(SUPPLIER, user_cert)
    codec = DuisCodec(duis_schema())
    bodies = [sign(etree.fromstring(request_bytes(1000 + i)), user_key, user_cert) for i in range(n)]
    parsed = [codec.parse(b) for b in bodies]
    for request in parsed[:3]:
        verify_request(request, keystore)

    figures: dict[str, object] = {"requests": n, "body_bytes": len(bodies[0])}
    figures["parse_rps"] = round(rate(lambda i: codec.parse(bodies[i]), n))
    figures["verify_rps"] = round(rate(lambda i: verify_request(parsed[i], keystore), n))
    figures["parse_verify_rps"] = round(rate(lambda i: verify_request(codec.parse(bodies[i]), keystore), n))
    figures["sign_rps"] = round(rate(lambda i: sign(acknowledgement(parsed[i], NOW), dsp_key, dsp_cert), n))
    figures["verify_sign_rps"] = round(rate(lambda i: sign(acknowledgement(
        verify_request_and_return(codec, bodies[i], keystore), NOW), dsp_key, dsp_cert), n))

    public = user_cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    tampered = codec.parse(bodies[0].replace(b":1000<", b":1009<"))
    fastsig.verify_request(parsed[0], keystore)  # agrees with signxml (tests/gateway/test_fastsig.py proves more)
    try:
        fastsig.verify_request(tampered, keystore)
        raise AssertionError("fastsig accepted a tampered request")
    except SignatureMismatch:
        pass
    figures["fastsig_verify_rps"] = round(rate(lambda i: fastsig.verify_request(parsed[i], keystore), n))
    figures["fastsig_parse_verify_rps"] = round(rate(
        lambda i: fastsig.verify_request(codec.parse(bodies[i]), keystore), n))
    figures["fastsig_sign_rps"] = round(rate(
        lambda i: fastsig.sign(acknowledgement(parsed[i], NOW), dsp_key, dsp_cert), n))
    figures["fastsig_verify_sign_rps"] = round(rate(lambda i: fastsig.sign(acknowledgement(
        verify_request_and_return(codec, bodies[i], keystore, fastsig.verify_request), NOW), dsp_key, dsp_cert), n))

    figures.update(xmlsec_rates(bodies, request_bytes(5), user_key, user_cert, n))

    signature = user_key.sign(b"signed info", ec.ECDSA(hashes.SHA256()))
    figures["python_ecdsa_verify_per_core"] = round(rate(
        lambda i: public.verify(signature, b"signed info", ec.ECDSA(hashes.SHA256())), n * 2))
    figures["python_ecdsa_sign_per_core"] = round(rate(
        lambda i: dsp_key.sign(b"signed info", ec.ECDSA(hashes.SHA256())), n * 2))
    ossl_sign, ossl_verify = openssl_speed(1 if args.quick else 2)
    figures["ecdsa_sign_ceiling_per_core"] = round(ossl_sign)
    figures["ecdsa_verify_ceiling_per_core"] = round(ossl_verify)
    # verify+sign per request at the ceiling: one ECDSA verify and one sign per request
    ceiling = 1 / (1 / ossl_verify + 1 / ossl_sign)
    figures["ecdsa_verify_sign_ceiling_per_core"] = round(ceiling)
    figures["verify_vs_ceiling"] = round(ossl_verify / float(figures["verify_rps"]), 1)  # type: ignore[arg-type]
    figures["fastsig_verify_vs_ceiling"] = round(ossl_verify / float(figures["fastsig_verify_rps"]), 1)  # type: ignore[arg-type]
    figures["fastsig_verify_sign_vs_ceiling"] = round(ceiling / float(figures["fastsig_verify_sign_rps"]), 1)  # type: ignore[arg-type]
    figures["verify_sign_vs_ceiling"] = round(ceiling / float(figures["verify_sign_rps"]), 1)  # type: ignore[arg-type]

    table = Table(title=f"DUIS codec, one core, {n} requests of {len(bodies[0])} bytes")
    table.add_column("phase")
    table.add_column("per second", justify="right")
    table.add_column("µs each", justify="right")
    for key, label in (("parse_rps", "parse + schema-validate (DuisCodec.parse)"),
                       ("verify_rps", "verify signature (verify_request, parsed)"),
                       ("parse_verify_rps", "parse + validate + verify"),
                       ("sign_rps", "build + sign I99 response"),
                       ("verify_sign_rps", "parse + verify + build + sign (per request)"),
                       ("fastsig_verify_rps", "fastsig verify (parsed)"),
                       ("fastsig_parse_verify_rps", "parse + validate + fastsig verify"),
                       ("fastsig_sign_rps", "build + fastsig sign I99 response"),
                       ("fastsig_verify_sign_rps", "parse + fastsig verify + build + sign (per request)"),
                       ("xmlsec_parse_verify_rps", "option: python-xmlsec parse + verify"),
                       ("xmlsec_sign_rps", "option: python-xmlsec build + sign"),
                       ("python_ecdsa_verify_per_core", "ECDSA P-256 verify alone (cryptography)"),
                       ("python_ecdsa_sign_per_core", "ECDSA P-256 sign alone (cryptography)"),
                       ("ecdsa_verify_ceiling_per_core", "ceiling: openssl speed ecdsap256 verify"),
                       ("ecdsa_sign_ceiling_per_core", "ceiling: openssl speed ecdsap256 sign"),
                       ("ecdsa_verify_sign_ceiling_per_core", "ceiling: one verify + one sign")):
        if key not in figures:
            continue
        value = float(figures[key])  # type: ignore[arg-type]
        table.add_row(label, f"{value:,.0f}", f"{1e6 / value:,.1f}")
    console.print(table)
    console.print(f"verify is {figures['verify_vs_ceiling']}x below openssl's verify ceiling; verify+sign per "
                  f"request {figures['verify_sign_vs_ceiling']}x below one verify + one sign; with fastsig "
                  f"{figures['fastsig_verify_vs_ceiling']}x and {figures['fastsig_verify_sign_vs_ceiling']}x")

    if args.profile:
        shares = where_verify_time_goes(lambda i: verify_request(parsed[i % n], keystore), min(n, 1000))
        profile_table = Table(title="where verify_request's time goes (cumulative share, cProfile)")
        profile_table.add_column("part")
        profile_table.add_column("share of verify_request", justify="right")
        for label, share in shares:
            profile_table.add_row(label, f"{share:.0%}")
        console.print(profile_table)
        figures["verify_profile"] = {label: round(share, 3) for label, share in shares}
    print("RESULT " + json.dumps(figures), flush=True)


def verify_request_and_return(codec: DuisCodec, body: bytes, keystore: Keystore,  # noqa: ANN201
                              verify: Callable[..., object] = verify_request):
    request = codec.parse(body)
    verify(request, keystore)
    return request


if __name__ == "__main__":
    main()
