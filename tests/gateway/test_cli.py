"""`gbsmart gateway add-certificate` and `certificates`: a User's certificate saved where the gateway reads it."""

from __future__ import annotations

from cryptography.hazmat.primitives.serialization import Encoding
from typer.testing import CliRunner

from gbsmart.cli import app
from gbsmart.config import get_settings
from gbsmart.gateway.store import dcc_signer, load_keystore
from tests.gateway.conftest import NETWORK_OPERATOR, SUPPLIER

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args), terminal_width=200)


def test_add_certificate_saves_it_for_the_gateway_and_refuses_another_users(cli_env, organisations):
    pem = cli_env / "supplier.pem"
    pem.write_bytes(organisations[SUPPLIER].certificate.public_bytes(Encoding.PEM))
    added = _run("gateway", "add-certificate", SUPPLIER.lower().replace("-", ""), str(pem))
    assert added.exit_code == 0, added.output
    assert f"(User {SUPPLIER})" in added.output
    store = load_keystore(get_settings())
    assert [e.certificate for e in store.for_user(SUPPLIER)] == [organisations[SUPPLIER].certificate]
    listed = _run("gateway", "certificates")
    assert listed.exit_code == 0 and SUPPLIER in listed.output

    refused = _run("gateway", "add-certificate", NETWORK_OPERATOR, str(pem))
    assert refused.exit_code == 1
    assert f"names User {SUPPLIER} in its subject, not {NETWORK_OPERATOR}" in refused.output
    assert load_keystore(get_settings()).for_user(NETWORK_OPERATOR) == ()


def test_serve_refuses_fewer_than_one_worker(cli_env):
    # --workers 2 and more are served (tests/gateway/test_workers.py runs them as real processes)
    result = _run("gateway", "serve", "--workers", "0")
    assert result.exit_code == 2 and "--workers" in result.output


def test_load_boxed_jar_trusts_the_test_organisations_and_can_sign_with_the_dsp_key(cli_env, boxed):
    result = _run("gateway", "load-boxed-jar", str(boxed.jar), "--dsp-key")
    assert result.exit_code == 0, result.output
    assert SUPPLIER in result.output and "DSP key" in result.output
    store = load_keystore(get_settings())
    assert {SUPPLIER, NETWORK_OPERATOR} <= set(store.user_ids())
    signer = dcc_signer(get_settings())
    assert signer.certificate == boxed.material.dsp_certificate


def test_add_certificate_for_command_signing_keeps_it_apart_from_the_duis_keystore(cli_env, organisations):
    from gbsmart.gateway.transform import load_command_keystore

    pem = cli_env / "supplier-ds.pem"
    pem.write_bytes(organisations[SUPPLIER].certificate.public_bytes(Encoding.PEM))
    added = _run("gateway", "add-certificate", "--command-signing", SUPPLIER, str(pem))
    assert added.exit_code == 0, added.output
    assert [e.certificate for e in load_command_keystore(get_settings()).for_user(SUPPLIER)] == [
        organisations[SUPPLIER].certificate]
    assert load_keystore(get_settings()).for_user(SUPPLIER) == ()  # not trusted for DUIS XML
    listed = _run("gateway", "certificates")
    assert listed.exit_code == 0 and "command" in listed.output


def test_log_status_on_the_embedded_engine_names_the_file(cli_env):
    shown = _run("gateway", "log-status")
    assert shown.exit_code == 0, shown.output
    assert "embedded engine" in shown.output and "requests.log" in shown.output and "none yet" in shown.output
