"""LabelledEnum: value, label and colour declared on one line; one EntryStatus for the CPL and the SMI."""

from __future__ import annotations

from pydantic import BaseModel

from gbsmart.core.enums import LabelledEnum
from gbsmart.cpl.enums import EntryStatus
from gbsmart.smi import rules as smi_rules


class Light(LabelledEnum):
    RED = "red", "Stop", "red"
    AMBER_FLASHING = "amber_flashing"


class Older(LabelledEnum):
    ONE = "one"

    __labels__ = {"one": ("The first", "blue")}


def test_a_member_carries_its_value_label_and_colour():
    assert Light.RED == "red" and Light.RED.value == "red" and str(Light.RED) == "red" and f"{Light.RED}" == "red"
    assert Light("red") is Light.RED
    assert (Light.RED.label, Light.RED.colour) == ("Stop", "red")
    assert (Light.AMBER_FLASHING.label, Light.AMBER_FLASHING.colour) == ("Amber flashing", "grey")  # the defaults
    assert Light.choices() == [("red", "Stop"), ("amber_flashing", "Amber flashing")]
    assert Light.values() == ("red", "amber_flashing")


def test_the_labels_table_still_works():
    assert (Older.ONE.label, Older.ONE.colour) == ("The first", "blue")


def test_pydantic_reads_and_writes_the_plain_value():
    class Form(BaseModel):
        light: Light

    assert Form(light="red").light is Light.RED
    assert Form(light=Light.RED).model_dump(mode="json") == {"light": "red"}
    assert Form.model_json_schema()["$defs"]["Light"]["enum"] == ["red", "amber_flashing"]


def test_the_smi_shows_a_device_model_status_as_the_cpl_does():
    assert {s.value: (s.label, s.colour) for s in EntryStatus} == {
        "Active": ("Active", "green"),
        "Cancelled": ("Cancelled", "grey"),
        "Expired": ("Expired", "orange"),
        "Withdrawn": ("Withdrawn", "red"),
    }
    # the SMI's stored codes keep their order (1-based, declaration order)
    assert [smi_rules.MODEL_STATUS_CODE[s] for s in EntryStatus] == [1, 2, 3, 4]
