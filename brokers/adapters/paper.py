"""The paper broker: a simulated broker with its own order book (PaperOrder), driven by the same engine as
live trading. Market orders fill at the quote with slippage, limit orders fill only when the quote crosses
their price, and PaperFault rows inject rejects, timeouts and partial fills for tests and drills."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from config.db import build, bulk_insert
from market.models import Instrument
from market.quotes import quote_for_fill

from ..models import PaperFault, PaperOrder
from .base import (
    BrokerError,
    BrokerTimeout,
    FillReport,
    OrderRequest,
    OrderResult,
    SessionHealth,
    place_each,
    register,
)

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
SLIPPAGE_TICKS = int(getattr(settings, "PAPER_SLIPPAGE_TICKS", 1))


def _result(order: PaperOrder) -> OrderResult:
    fills = [
        FillReport(
            fill_id=f["id"],
            quantity=f["quantity"],
            price=Decimal(f["price"]),
            at=dt.datetime.fromisoformat(f["at"]) if f.get("at") else order.updated_at or timezone.now(),
        )
        for f in order.fills
    ]
    return OrderResult(
        broker_order_id=order.broker_order_id,
        status=order.status,
        filled_quantity=order.filled_quantity,
        average_price=order.average_price,
        message=order.message,
        fills=fills,
        tag=order.tag,
        quantity=order.quantity,
        limit_price=order.limit_price,
    )


WORKING = (PaperOrder.Status.OPEN, PaperOrder.Status.PARTIAL)


def _fill_price(side: str, bid: Decimal, ask: Decimal, tick: Decimal, limit: Decimal | None) -> Decimal | None:
    """The price a marketable order fills at, or None when a limit order does not cross the quote."""
    slip = tick * SLIPPAGE_TICKS
    if side == "BUY":
        price = ask + slip
        if limit is not None:
            if ask > limit:
                return None
            price = min(price, limit)
    else:
        price = max(bid - slip, tick)
        if limit is not None:
            if bid < limit:
                return None
            price = max(price, limit)
    return price


@register("PAPER")
class PaperBroker:
    def __init__(self, account):
        self.account = account
        self._faults = None  # looked up on the first order: constructing an adapter costs no query

    def check_session(self) -> SessionHealth:
        return SessionHealth(ok=True, detail="paper broker: always connected")

    def available_funds(self) -> Decimal:
        """A paper account trades with simulated funds (PAPER_ACCOUNT_FUNDS, ₹10,00,000 by default)."""
        return Decimal(str(getattr(settings, "PAPER_ACCOUNT_FUNDS", "1000000")))

    def _take_fault(self, side: str) -> PaperFault | None:
        fault = (
            PaperFault.objects.select_for_update()
            .filter(account=self.account, remaining__gt=0, side__in=["", side])
            .order_by("id")
            .first()
        )
        if fault is not None:
            PaperFault.objects.filter(pk=fault.pk).update(remaining=F("remaining") - 1)
        return fault

    def _has_faults(self) -> bool:
        if self._faults is None:
            # Faults are set up before a drill; checking once per adapter spares a locked read per order.
            self._faults = PaperFault.objects.filter(account=self.account, remaining__gt=0).exists()
        return self._faults

    def _new_order(self, request: OrderRequest, instrument: Instrument, fault: PaperFault | None) -> PaperOrder:
        """The exchange's answer to one order: rejected (fault, lot size, freeze quantity) or matched."""
        kind = fault.kind if fault else None
        order = build(
            PaperOrder,
            account=self.account,
            broker_order_id=f"P{uuid.uuid4().hex[:15].upper()}",
            tag=request.tag,
            instrument=instrument,
            side=request.side,
            quantity=request.quantity,
            order_type=request.order_type,
            limit_price=request.limit_price,
            status=PaperOrder.Status.OPEN,
        )
        if kind == PaperFault.Kind.REJECT:
            order.status = PaperOrder.Status.REJECTED
            order.message = fault.message or "paper broker: simulated rejection"
        elif request.quantity % instrument.lot_size:
            order.status = PaperOrder.Status.REJECTED
            order.message = f"quantity {request.quantity} is not a multiple of the lot size {instrument.lot_size}"
        elif instrument.freeze_quantity and request.quantity > instrument.freeze_quantity:
            order.status = PaperOrder.Status.REJECTED
            order.message = f"quantity {request.quantity} exceeds the freeze quantity {instrument.freeze_quantity}"
        elif kind == PaperFault.Kind.ILLIQUID:
            order.illiquid = True
        else:
            ratio = fault.fill_ratio if kind == PaperFault.Kind.PARTIAL else None
            self._match(order, instrument, ratio=ratio)
        return order

    def place_order(self, request: OrderRequest) -> OrderResult:
        fault = None
        if self._has_faults():
            with transaction.atomic():  # a fault is used up whatever happens to the order
                fault = self._take_fault(request.side)
        kind = fault.kind if fault else None
        if kind == PaperFault.Kind.TIMEOUT:
            raise BrokerTimeout(fault.message or "paper broker: simulated timeout (the order did not arrive)")
        with transaction.atomic():
            instrument = Instrument.objects.select_related("quote").get(pk=request.instrument_id)
            order = self._new_order(request, instrument, fault)
            try:
                with transaction.atomic():
                    order.save()
            except IntegrityError:
                raise BrokerError(
                    f"paper broker: an order tagged {request.tag} already exists", permanent=True
                ) from None
        if kind == PaperFault.Kind.TIMEOUT_AFTER_PLACE:
            raise BrokerTimeout(fault.message or "paper broker: simulated timeout after the order was placed")
        return _result(order)

    def place_orders(self, requests: list[OrderRequest]) -> list[OrderResult | BrokerError]:
        """Many orders in one round trip to the simulated exchange, in list order. Each answer is the
        order's result or the BrokerError it raised. With faults set up, each order goes through place_order
        so the drill behaves exactly as it would one order at a time."""
        if self._has_faults():
            return place_each(self, requests)
        instruments = Instrument.objects.select_related("quote").in_bulk({r.instrument_id for r in requests})
        # A tag the exchange already has fails the insert below (unique per account): then the orders go one
        # at a time, each answered as place_order answers it. No lookup first: the engine's tags are new.
        taken: set = set()
        answers: list = []
        new = []
        for request in requests:
            if request.tag in taken:
                answers.append(
                    BrokerError(f"paper broker: an order tagged {request.tag} already exists", permanent=True)
                )
                continue
            taken.add(request.tag)
            order = self._new_order(request, instruments[request.instrument_id], None)
            new.append(order)
            answers.append(order)
        try:
            with transaction.atomic():
                bulk_insert(new)
        except IntegrityError:  # another placer got a tag in first: fall back to one at a time
            return place_each(self, requests)
        return [answer if isinstance(answer, BrokerError) else _result(answer) for answer in answers]

    def _match(self, order: PaperOrder, instrument: Instrument, *, ratio: Decimal | None = None) -> None:
        if order.illiquid:
            return
        quote = quote_for_fill(instrument, timezone.now())
        if quote is None:
            if order.order_type == "MARKET":
                order.status = PaperOrder.Status.REJECTED
                order.message = "paper broker: no price for this contract"
            return
        price = _fill_price(order.side, quote.bid, quote.ask, instrument.tick_size, order.limit_price)
        if price is None:
            return  # a limit order that does not cross rests OPEN
        quantity = order.quantity - order.filled_quantity
        if ratio is not None:
            lots = int((Decimal(quantity // instrument.lot_size) * ratio).to_integral_value(rounding=ROUND_DOWN))
            quantity = max(lots, 1) * instrument.lot_size if quantity > instrument.lot_size else 0
        if quantity <= 0:
            return
        previous_value = (order.average_price or 0) * order.filled_quantity
        now = timezone.now()
        order.filled_quantity += quantity
        order.average_price = ((previous_value + price * quantity) / order.filled_quantity).quantize(Decimal("0.01"))
        order.fills = [
            *order.fills,
            {
                "id": f"{order.broker_order_id}-{len(order.fills) + 1}",
                "quantity": quantity,
                "price": str(price),
                "at": now.isoformat(),
            },
        ]
        order.status = (
            PaperOrder.Status.FILLED if order.filled_quantity == order.quantity else PaperOrder.Status.PARTIAL
        )

    def find_order(self, tag: str) -> OrderResult | None:
        order = PaperOrder.objects.filter(account=self.account, tag=tag).first()
        return _result(order) if order else None

    def _match_working(self) -> None:
        """The simulated exchange's matching step: resting orders whose price the quote now crosses fill (a
        PARTIAL fault's remainder too). It runs on every status call, as a real exchange runs all the time."""
        with transaction.atomic():
            orders = PaperOrder.objects.select_for_update(of=("self",)).select_related("instrument__quote")
            for order in orders.filter(account=self.account, status__in=WORKING):
                before = order.filled_quantity
                self._match(order, order.instrument)
                if order.filled_quantity != before:
                    order.save()

    def orders_status(self) -> list[OrderResult]:
        """Every order of the account placed today (exchange day, IST), after matching what rests."""
        self._match_working()
        start = timezone.localtime(timezone.now(), IST).replace(hour=0, minute=0, second=0, microsecond=0)
        rows = PaperOrder.objects.filter(account=self.account, created_at__gte=start).order_by("created_at", "pk")
        return [_result(order) for order in rows]

    def _working(self, broker_order_id: str) -> PaperOrder:
        order = (
            PaperOrder.objects.select_for_update(of=("self",))
            .select_related("instrument__quote")
            .filter(account=self.account, broker_order_id=broker_order_id)
            .first()
        )
        if order is None:
            raise BrokerError(f"paper broker: no order {broker_order_id}", permanent=True)
        return order

    def cancel_order(self, broker_order_id: str) -> OrderResult:
        """Cancel what is unfilled; an order already complete answers its final state unchanged."""
        with transaction.atomic():
            order = self._working(broker_order_id)
            if order.status in WORKING:
                order.status = PaperOrder.Status.CANCELLED
                order.message = "cancelled by the platform"
                order.save()
        return _result(order)

    def modify_order(
        self,
        broker_order_id: str,
        *,
        order_type: str | None = None,
        limit_price: Decimal | None = None,
        quantity: int | None = None,
    ) -> OrderResult:
        """Change a working order and match it at once against the quote. A MARKET order keeps `limit_price`
        as its market protection: it never fills beyond that price (it rests until the quote comes back)."""
        with transaction.atomic():
            order = self._working(broker_order_id)
            if order.status not in WORKING:
                raise BrokerError(f"paper broker: order {broker_order_id} is {order.status}", permanent=True)
            if quantity is not None:
                if quantity < order.filled_quantity or quantity % order.instrument.lot_size:
                    raise BrokerError(f"paper broker: cannot modify quantity to {quantity}", permanent=True)
                order.quantity = quantity
            if order_type is not None:
                order.order_type = order_type
            if limit_price is not None or order_type == "MARKET":
                order.limit_price = limit_price
            self._match(order, order.instrument)
            if order.filled_quantity == order.quantity:
                order.status = PaperOrder.Status.FILLED
            order.save()
        return _result(order)

    def open_positions(self) -> dict[int, int]:
        net: dict[int, int] = {}
        rows = PaperOrder.objects.filter(account=self.account, filled_quantity__gt=0)
        for instrument_id, side, quantity in rows.values_list("instrument_id", "side", "filled_quantity"):
            net[instrument_id] = net.get(instrument_id, 0) + (quantity if side == "BUY" else -quantity)
        return {key: value for key, value in net.items() if value}
