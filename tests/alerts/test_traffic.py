"""The traffic file: packaged defaults, overrides, and errors that name the file and the field."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gbsmart.alerts.enums import OutboundKind
from gbsmart.alerts.traffic import PACKAGED, TrafficError, load_traffic
from gbsmart.config import Settings

USER = "90-B3-D5-1F-30-01-00-00"
BASE = '''classes = ["power_outage", "security", "prepayment", "on_demand", "alert", "future_dated", "bulk"]
[capacity]
messages_per_second = 10.0
in_flight = 4
'''


def _load(tmp_path, text: str):
    path = tmp_path / "traffic.toml"
    path.write_text(text)
    return load_traffic(Settings(alerts_traffic_file=path)), str(path)


def test_packaged_defaults() -> None:
    traffic = load_traffic(Settings())
    assert traffic.classes == ("power_outage", "security", "prepayment", "on_demand", "alert", "future_dated",
                               "bulk")
    assert [traffic.rank(c) for c in traffic.classes] == list(range(7))
    assert traffic.retention[OutboundKind.DEVICE_ALERT] >= timedelta(days=2)
    assert traffic.response_class("2.2") == "prepayment"
    assert traffic.response_class("4.1.1") == "on_demand"
    assert traffic.response_class("4.1.1", future_dated=True) == "future_dated"
    assert traffic.source == str(PACKAGED)
    with pytest.raises(ValueError, match="'urgent' is not a priority class .*power_outage, security"):
        traffic.rank("urgent")


def test_reordered_classes_and_a_user_override(tmp_path) -> None:
    traffic, _ = _load(tmp_path, '''classes = ["bulk", "power_outage"]
[capacity]
messages_per_second = 10.0
in_flight = 4
[capacity.users."90-B3-D5-1F-30-01-00-00"]
in_flight = 1
[retention]
device_alert = 72
''')
    assert traffic.rank("bulk") == 0 and traffic.rank("power_outage") == 1
    assert traffic.capacity(USER).in_flight == 1 and traffic.capacity(USER).per_second == 10.0
    assert traffic.capacity("90-B3-D5-1F-30-01-00-01").in_flight == 4
    assert traffic.retention[OutboundKind.DEVICE_ALERT] == timedelta(hours=72)
    assert traffic.response_class("2.2") == "power_outage"  # no on_demand class: the lowest one listed


@pytest.mark.parametrize(("text", "field", "what"), [
    ('classes = []\n[capacity]\nmessages_per_second = 1\nin_flight = 1\n', "classes", "non-empty list"),
    ('classes = ["a", "a"]\n[capacity]\nmessages_per_second = 1\nin_flight = 1\n', "classes", "listed twice"),
    ('classes = ["Bad Name"]\n[capacity]\nmessages_per_second = 1\nin_flight = 1\n', r"classes\[0\]",
     "not a class name"),
    ('classes = ["a"]\n', "capacity", "is required"),
    ('classes = ["a"]\n[capacity]\nmessages_per_second = 0\nin_flight = 1\n', "capacity.messages_per_second",
     "above 0"),
    ('classes = ["a"]\n[capacity]\nmessages_per_second = 1\nin_flight = 1.5\n', "capacity.in_flight", "whole"),
    (BASE + '[capacity.users."nobody"]\nin_flight = 1\n', "capacity.users.nobody", "not a DCC User ID"),
    (BASE + '[retention]\ndevice_alert = 24\n', "retention.device_alert", "at least 48 hours"),
    (BASE + '[retention]\nletters = 24\n', "retention.letters", "unknown kind"),
    (BASE + '[responses.srv]\n"2.2" = "urgent"\n', r"responses.srv.2.2", "not one of the classes"),
    ('colour = "red"\n' + BASE, "colour", "unknown field"),
])
def test_errors_name_the_file_and_the_field(tmp_path, text, field, what) -> None:
    with pytest.raises(TrafficError, match=f"traffic.toml: {field}: .*{what}"):
        _load(tmp_path, text)


def test_missing_and_malformed_files(tmp_path) -> None:
    with pytest.raises(TrafficError, match="does not exist: fix GBSMART_ALERTS_TRAFFIC_FILE"):
        load_traffic(Settings(alerts_traffic_file=tmp_path / "absent.toml"))
    with pytest.raises(TrafficError, match="is not valid TOML"):
        _load(tmp_path, "classes = [")
