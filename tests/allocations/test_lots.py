"""The pure lot arithmetic (allocations/lots.py): reference figures and properties."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocations.lots import LEG_LEVEL, STRATEGY_LEVEL, LegSpec, LotsError, OverrideSpec, allocate, floor_lots

CONDOR = [("SELL", "PUT"), ("BUY", "PUT"), ("SELL", "CALL"), ("BUY", "CALL")]


def condor(base):
    return [LegSpec(no, lots, side, kind) for no, (lots, (side, kind)) in enumerate(zip(base, CONDOR, strict=True), 1)]


def overrides(*lots):
    return {no: OverrideSpec(n) for no, n in enumerate(lots, 1)}


def test_seed_001_leg_level_overrides_give_8_and_10_lots():
    legs = condor([2, 2, 2, 2])
    zerodha = allocate(legs, client_id="ZERODHA123", allocation_type=LEG_LEVEL, overrides=overrides(3, 3, 1, 1))
    angel = allocate(legs, client_id="ANGELONE456", allocation_type=LEG_LEVEL, overrides=overrides(1, 1, 4, 4))
    assert (zerodha.total_lots, angel.total_lots, zerodha.total_lots + angel.total_lots) == (8, 10, 18)


def test_seed_002_multipliers_give_11_and_16_lots():
    legs = condor([2, 3, 1, 2])
    a = allocate(legs, client_id="A", allocation_type=STRATEGY_LEVEL, multiplier=Decimal("1.5"))
    b = allocate(legs, client_id="B", allocation_type=STRATEGY_LEVEL, multiplier=Decimal("2.0"))
    assert a.lots_by_leg() == {1: 3, 2: 4, 3: 1, 4: 3}
    assert b.lots_by_leg() == {1: 4, 2: 6, 3: 2, 4: 4}
    assert (a.total_lots, b.total_lots, a.total_lots + b.total_lots) == (11, 16, 27)


@pytest.mark.parametrize("base, multiplier, expected", [(3, "1.1", 3), (10, "0.3", 3), (7, "0.1", 0), (3, "0.7", 2)])
def test_multiplier_floors_in_decimal_not_float(base, multiplier, expected):
    assert floor_lots(base, Decimal(multiplier)) == expected


def test_leg_without_override_trades_its_base_lots():
    result = allocate(condor([2, 2, 2, 2]), client_id="Z", allocation_type=LEG_LEVEL, overrides={1: OverrideSpec(5)})
    assert result.lots_by_leg() == {1: 5, 2: 2, 3: 2, 4: 2}


def test_leg_level_override_disabled_leg_is_excluded():
    result = allocate(
        condor([2, 2, 2, 2]), client_id="Z", allocation_type=LEG_LEVEL, overrides={4: OverrideSpec(1, enabled=False)}
    )
    assert set(result.lots_by_leg()) == {1, 2, 3}
    assert result.legs_enabled == 3


def test_disabled_base_leg_is_excluded_for_every_account():
    legs = condor([2, 2, 2, 2])
    legs[1] = LegSpec(2, 2, "BUY", "PUT", enabled=False)
    result = allocate(legs, client_id="Z", allocation_type=STRATEGY_LEVEL, multiplier=Decimal(2))
    assert 2 not in result.lots_by_leg()


def test_leg_that_ends_at_zero_lots_is_refused_naming_leg_and_account():
    with pytest.raises(LotsError) as refused:
        allocate(
            condor([1, 2, 2, 2]), client_id="ZERODHA123", allocation_type=STRATEGY_LEVEL, multiplier=Decimal("0.5")
        )
    assert refused.value.leg_no == 1 and refused.value.client_id == "ZERODHA123"
    assert "leg 1" in refused.value.message and "ZERODHA123" in refused.value.message


def test_position_sizing_bounds_the_final_lots():
    legs = [LegSpec(1, 2, "SELL", "PUT", max_lots=4), LegSpec(2, 2, "BUY", "PUT", lot_increment=2)]
    with pytest.raises(LotsError, match="max_lots 4"):
        allocate(legs, client_id="Z", allocation_type=STRATEGY_LEVEL, multiplier=Decimal("2.5"))
    with pytest.raises(LotsError, match="lot_increment 2"):
        allocate(legs, client_id="Z", allocation_type=LEG_LEVEL, overrides={2: OverrideSpec(3)})


def test_override_for_a_leg_the_strategy_lacks_is_refused():
    with pytest.raises(LotsError, match="leg 9"):
        allocate(condor([2, 2, 2, 2]), client_id="Z", allocation_type=LEG_LEVEL, overrides={9: OverrideSpec(1)})


def test_short_side_exceeding_long_side_warns_when_base_was_covered():
    result = allocate(condor([2, 2, 2, 2]), client_id="Z", allocation_type=LEG_LEVEL, overrides=overrides(3, 1, 1, 1))
    assert len(result.warnings) == 1
    assert "PUT side sells 3 lots but buys only 1" in result.warnings[0]


def test_naked_base_strategy_gives_no_hedge_warning():
    legs = [LegSpec(1, 2, "SELL", "PUT"), LegSpec(2, 2, "SELL", "CALL")]
    result = allocate(legs, client_id="Z", allocation_type=STRATEGY_LEVEL, multiplier=Decimal(2))
    assert result.warnings == []


def test_rounding_that_breaks_the_hedge_warns():
    legs = [LegSpec(1, 3, "SELL", "CALL"), LegSpec(2, 2, "BUY", "CALL"), LegSpec(3, 1, "BUY", "CALL")]
    # 3×1.5=4.5→4 short; 2×1.5=3 and 1×1.5=1.5→1 long: 4 short vs 4 long is still covered
    assert allocate(legs, client_id="Z", allocation_type=STRATEGY_LEVEL, multiplier=Decimal("1.5")).warnings == []
    legs = [LegSpec(1, 2, "SELL", "CALL"), LegSpec(2, 1, "BUY", "CALL"), LegSpec(3, 1, "BUY", "CALL")]
    # 2×1.5=3 short; 1×1.5→1 and 1×1.5→1 long: 3 short vs 2 long
    assert allocate(legs, client_id="Z", allocation_type=STRATEGY_LEVEL, multiplier=Decimal("1.5")).warnings


leg_lists = st.lists(
    st.tuples(st.integers(1, 20), st.sampled_from(["BUY", "SELL"]), st.sampled_from(["CALL", "PUT"]), st.booleans()),
    min_size=1,
    max_size=8,
).map(lambda items: [LegSpec(no, lots, side, kind, enabled) for no, (lots, side, kind, enabled) in enumerate(items, 1)])
multipliers = st.decimals(min_value=Decimal("0.05"), max_value=Decimal("10"), places=2)


@given(legs=leg_lists, multiplier=multipliers)
def test_final_lots_never_exceed_base_times_multiplier(legs, multiplier):
    try:
        result = allocate(legs, client_id="P", allocation_type=STRATEGY_LEVEL, multiplier=multiplier)
    except LotsError as exc:
        assert exc.leg_no is not None
        assert floor_lots(next(leg.base_lots for leg in legs if leg.leg_no == exc.leg_no), multiplier) == 0
        return
    base = {leg.leg_no: leg.base_lots for leg in legs}
    for item in result.legs:
        assert item.final_lots <= base[item.leg_no] * multiplier
        assert item.final_lots >= 1


@given(legs=leg_lists, data=st.data())
def test_disabled_legs_never_appear_and_totals_equal_the_sum_of_legs(legs, data):
    chosen = data.draw(
        st.dictionaries(st.sampled_from([leg.leg_no for leg in legs]), st.tuples(st.integers(1, 9), st.booleans()))
    )
    result = allocate(
        legs,
        client_id="P",
        allocation_type=LEG_LEVEL,
        overrides={no: OverrideSpec(lots, enabled) for no, (lots, enabled) in chosen.items()},
    )
    excluded = {leg.leg_no for leg in legs if not leg.enabled} | {no for no, (_, on) in chosen.items() if not on}
    assert not excluded & set(result.lots_by_leg())
    assert result.total_lots == sum(result.lots_by_leg().values())
    assert result.legs_enabled == len(result.legs)
