"""The book's arithmetic: once flat, realized P&L is exactly the cash flow of the fills (to the paisa), however
the position was scaled in and out. Pure: no database."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from execution.models import Position
from execution.services.books import fill_apply


def book():
    return Position(net_quantity=0, open_cost=Decimal(0), average_price=Decimal(0), realized_pnl=Decimal(0))


def test_a_short_scaled_in_twice_and_bought_back_realizes_its_cash_flow():
    """Found by a trader: the average was rounded to 49.58 after the second sell, so the buy-back booked
    +821.60 where the contract note says +819.00."""
    position = book()
    fill_apply(position=position, side="SELL", quantity=260, price=Decimal("49.50"))
    fill_apply(position=position, side="SELL", quantity=260, price=Decimal("49.65"))
    assert position.average_price == Decimal("49.575")
    realized = fill_apply(position=position, side="BUY", quantity=520, price=Decimal("48.00"))
    assert realized == Decimal("819.00")
    assert position.net_quantity == 0 and position.open_cost == 0 and position.realized_pnl == Decimal("819.00")


def test_partial_closes_take_their_share_of_the_cost_and_the_last_one_takes_the_rest():
    position = book()
    for price in ("10.05", "10.10", "10.20"):
        fill_apply(position=position, side="BUY", quantity=65, price=Decimal(price))
    assert position.open_cost == Decimal("1972.75")
    first = fill_apply(position=position, side="SELL", quantity=65, price=Decimal("11.00"))
    assert first == Decimal("57.42")  # 715.00 - 1972.75 / 3 (657.58, to the paisa)
    last = fill_apply(position=position, side="SELL", quantity=130, price=Decimal("10.55"))
    assert first + last == Decimal("65") * Decimal("11.00") + Decimal("130") * Decimal("10.55") - Decimal("1972.75")


def test_crossing_through_zero_opens_the_rest_at_the_crossing_price():
    position = book()
    fill_apply(position=position, side="BUY", quantity=65, price=Decimal("20.00"))
    realized = fill_apply(position=position, side="SELL", quantity=130, price=Decimal("21.00"))
    assert realized == Decimal("65.00")
    assert position.net_quantity == -65 and position.open_cost == Decimal("1365.00")
    assert position.average_price == Decimal("21.00")


FILLS = st.lists(
    st.tuples(
        st.sampled_from(["BUY", "SELL"]),
        st.integers(min_value=1, max_value=40).map(lambda lots: lots * 65),
        st.integers(min_value=5, max_value=50_000).map(lambda paise: Decimal(paise) / 100),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=300, derandomize=True)
@given(fills=FILLS, close_price=st.integers(min_value=5, max_value=50_000).map(lambda p: Decimal(p) / 100))
def test_whatever_the_fills_a_flat_book_realizes_exactly_its_cash_flow(fills, close_price):
    position, cash = book(), Decimal(0)
    for side, quantity, price in fills:
        fill_apply(position=position, side=side, quantity=quantity, price=price)
        cash += price * quantity * (1 if side == "SELL" else -1)
    if position.net_quantity:  # close what is open, as an exit would
        side = "SELL" if position.net_quantity > 0 else "BUY"
        quantity = abs(position.net_quantity)
        fill_apply(position=position, side=side, quantity=quantity, price=close_price)
        cash += close_price * quantity * (1 if side == "SELL" else -1)
    assert position.net_quantity == 0 and position.open_cost == 0
    assert position.realized_pnl == cash


def test_going_to_market_never_caps_an_order_below_what_its_limit_already_offered():
    """Found by a trader: a BUY resting at 42.50 went to market protected at 41.00 (touch 40.15 + 2%)."""
    from execution.models import Order
    from execution.services.lifecycle import Policy, market_changes
    from market.models import Instrument

    instrument = Instrument(tick_size=Decimal("0.05"))
    policy = Policy(after=None, modifies=2, protection=Decimal("2"))
    buy = Order(side="BUY", order_type="LIMIT", limit_price=Decimal("42.50"), instrument=instrument)
    assert market_changes(buy, Decimal("40.15"), policy)[0] == {"order_type": "MARKET", "limit_price": Decimal("42.50")}
    sell = Order(side="SELL", order_type="LIMIT", limit_price=Decimal("38.00"), instrument=instrument)
    assert market_changes(sell, Decimal("40.15"), policy)[0]["limit_price"] == Decimal("38.00")
    # A limit the touch has moved past: the protection around the touch is the wider one, and it is kept.
    low = Order(side="BUY", order_type="LIMIT", limit_price=Decimal("39.00"), instrument=instrument)
    assert market_changes(low, Decimal("40.15"), policy)[0]["limit_price"] == Decimal("41.00")
