"""Money stays exact from input to amount: 万元 text and facts through Decimal, never float (issue 11 §5)."""

from __future__ import annotations

from decimal import Decimal

from pubdata.policy.applications.workflow import _jsonable
from pubdata.policy.packs.pack import _amount
from pubdata.rules.evaluate import normalise
from pubdata.web.application_pages import wan_to_yuan


def test_wan_input_is_converted_exactly():
    assert int(1.005 * 10_000) == 10_049  # what float would make of it
    assert wan_to_yuan("1.005", "营业收入") == 10_050
    assert wan_to_yuan("0.3", "营业收入") == 3_000


def test_sums_of_decimal_facts_stay_exact():
    assert 0.1 + 0.2 != 0.3  # float
    total = normalise(Decimal("0.1")) + normalise(0.2)  # type: ignore[operator]
    assert total == Decimal("0.3")
    assert normalise(_jsonable(Decimal("0.1") + Decimal("0.2"))) == Decimal("0.3")  # stored and read back
    assert _jsonable(Decimal("10050")) == 10_050 and isinstance(_jsonable(Decimal("10050")), int)


def test_pack_amounts_from_yaml_floats_and_text():
    assert _amount(1.1e4) == 11_000
    assert _amount("1.005万") == 10_050
    assert _amount(300000) == 300_000
