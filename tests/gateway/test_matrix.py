"""The packaged DUIS request matrix and the web service each Service Request Variant goes to."""

from __future__ import annotations

import json

import pytest

from gbsmart.gateway.matrix import (
    MATRIX_FILE,
    ServiceRequestVariant,
    WebService,
    load_matrix,
    request_matrix,
    service_for,
)


def test_the_matrix_has_the_129_variants_with_their_flags():
    matrix = request_matrix()
    assert len(matrix) == 129
    tariff = matrix["1.1.1"]
    assert tariff.name == "Update Import Tariff (Primary Element)" and tariff.critical and tariff.on_demand
    assert tariff.eligible_roles == {"IS", "GS"} and tariff.future_dated == "Device" and not tariff.non_device
    assert matrix["8.2"].non_device and matrix["8.2"].name == "Read Inventory"
    assert sum(v.critical for v in matrix.values()) == 37
    assert sum(v.non_device for v in matrix.values()) == 16
    assert request_matrix() is matrix


@pytest.mark.parametrize("srv,cv,service", [
    ("8.2", 8, WebService.NON_DEVICE),       # Read Inventory: the DCC answers itself
    ("12.2", 8, WebService.NON_DEVICE),      # Device Pre-notification
    ("11.1", 8, WebService.NON_DEVICE),      # Update Firmware is a DCC-only request in the matrix
    ("4.1.1", 1, WebService.SEND_COMMAND),   # Read Instantaneous Import Registers: not critical
    ("1.1.1", 4, WebService.TRANSFORM),      # Update Import Tariff: critical, first to Transform ...
    ("1.1.1", 5, WebService.SEND_COMMAND),   # ... then its Signed Pre-Command to Send Command
    ("1.1.1", 7, WebService.SEND_COMMAND),
    ("1.1.1", 1, WebService.TRANSFORM),      # a critical request never goes straight to Send Command
])
def test_each_variant_goes_to_its_web_service(srv, cv, service):
    assert service_for(request_matrix()[srv], cv) is service


def test_the_services_have_dcc_boxeds_paths():
    assert [s.path for s in WebService] == ["/api/v1/serviceS", "/api/v1/serviceT", "/api/v1/serviceD"]
    assert WebService.TRANSFORM.label == "Transform"


def test_every_variant_has_one_service_for_each_command_variant():
    for variant in request_matrix().values():
        services = {service_for(variant, cv) for cv in range(1, 9)}
        if variant.non_device:
            assert services == {WebService.NON_DEVICE}
        elif variant.critical:
            assert services == {WebService.TRANSFORM, WebService.SEND_COMMAND}
        else:
            assert services == {WebService.SEND_COMMAND}


def test_a_bad_matrix_is_refused(tmp_path):
    rows = json.loads(MATRIX_FILE.read_text())
    path = tmp_path / "m.json"
    path.write_text(json.dumps(rows + rows[:1]))
    with pytest.raises(ValueError, match="more than once"):
        load_matrix(path)
    path.write_text(json.dumps([{**rows[0], "Eligible User Roles": ["XX"]}]))
    with pytest.raises(ValueError, match="unknown User Role"):
        load_matrix(path)
    path.write_text(json.dumps([{**rows[0], "Critical": "Maybe"}]))
    with pytest.raises(ValueError, match="Critical is 'Maybe'"):
        load_matrix(path)
    assert isinstance(load_matrix()["1.1.1"], ServiceRequestVariant)
