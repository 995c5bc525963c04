"""The allocation grid: one row per broker account of the user, one column per leg of the strategy.

A row is switched on (the account trades the strategy) or off. An on row is LEG_LEVEL (each cell gives the
account's lots for the leg and whether it trades it) or STRATEGY_LEVEL (final lots = floor(base lots × the row's
multiplier)). Every keystroke posts the grid to the preview endpoint, which validates each row with the API's
AllocationWriteSerializer and runs the platform's lot arithmetic (allocations.lots.allocate) and margin estimate
(brokers.margin.estimate_margin) without saving; Save re-runs the same validation and writes every row in one
transaction through allocations.services.allocations_replace (rows switched off lose their allocation).
"""

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from brokers.margin import FORMULA as MARGIN_FORMULA
from brokers.margin import LegQuantity, estimate_margin
from brokers.models import BrokerAccount
from config.exceptions import ConflictError, DomainError
from config.pages import domain_errors, flatten_errors, form_amount, form_int, form_text, indian_grouping
from market.selectors import underlying_specs
from strategies.models import Leg, Strategy

from . import services
from .api.serializers import AllocationWriteSerializer
from .lots import LEG_LEVEL, STRATEGY_LEVEL, LotsError, OverrideSpec, allocate
from .models import Allocation
from .selectors import allocations_for_strategy, leg_spec, margin_over_capital

MODES = [(LEG_LEVEL, "Per leg"), (STRATEGY_LEVEL, "Multiplier")]
# The allocation's risk limits the grid edits (each optional; blank = no limit), with a trader's label.
RISK_FIELDS = [
    ("max_daily_loss", "Max daily loss ₹"),
    ("max_daily_trades", "Max orders a day"),
    ("max_position_value", "Max position value ₹"),
    ("max_margin_utilization", "Max margin used %"),
]


@dataclass
class Cell:
    leg_no: int
    lots: str
    enabled: bool
    final_lots: int | None = None
    quantity: int | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class Row:
    account: BrokerAccount
    allocation: Allocation | None
    on: bool
    mode: str
    priority: str
    multiplier: str
    cells: list[Cell]
    errors: dict[str, list[str]] = field(default_factory=dict)  # priority, multiplier, mode, risk, general
    risk: dict[str, str] | None = None  # risk limit name -> as typed; None: not posted (keep the saved ones)
    warnings: list[str] = field(default_factory=list)
    input: services.AllocationInput | None = None
    total_lots: int | None = None
    total_quantity: int | None = None
    margin: object = None

    @property
    def key(self) -> str:
        return str(self.account.pk)

    @property
    def computed(self) -> bool:
        return self.on and self.total_lots is not None

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(cell.errors for cell in self.cells)

    @property
    def lots_display(self) -> str:
        return indian_grouping(self.total_lots) if self.computed else "—"

    @property
    def quantity_display(self) -> str:
        return indian_grouping(self.total_quantity) if self.computed else "—"

    @property
    def margin_display(self) -> str:
        return indian_grouping(self.margin) if self.computed else "—"


def _plain(value) -> str:
    return f"{value.normalize():f}" if value is not None else ""


def _rows_from_db(accounts, legs, existing: dict) -> list[Row]:
    rows = []
    for account in accounts:
        allocation = existing.get(account.pk)
        overrides = {o.leg.leg_no: o for o in allocation.leg_overrides.all()} if allocation else {}
        cells = []
        for leg in legs:
            override = overrides.get(leg.leg_no)
            cells.append(
                Cell(leg.leg_no, str(override.lots if override else leg.lots), override.enabled if override else True)
            )
        rows.append(
            Row(
                account=account,
                allocation=allocation,
                on=allocation is not None,
                mode=allocation.allocation_type if allocation else LEG_LEVEL,
                priority=str(allocation.priority if allocation else len(existing) + 1),
                multiplier=_plain(allocation.strategy_lots_multiplier) if allocation else "1",
                cells=cells,
                risk={
                    name: "" if value is None else str(value)
                    for name, value in (
                        (n, (allocation.risk_limits or {}).get(n) if allocation else None) for n, _ in RISK_FIELDS
                    )
                },
            )
        )
    return rows


def _rows_from_post(post, accounts, legs, existing: dict) -> list[Row]:
    rows = []
    for account in accounts:
        prefix = f"a-{account.pk}"
        cells = [
            Cell(
                leg.leg_no,
                post.get(f"{prefix}-leg{leg.leg_no}-lots", "").strip(),
                post.get(f"{prefix}-leg{leg.leg_no}-enabled") in ("on", "true", "1"),
            )
            for leg in legs
        ]
        rows.append(
            Row(
                account=account,
                allocation=existing.get(account.pk),
                on=post.get(f"{prefix}-on") in ("on", "true", "1"),
                mode=post.get(f"{prefix}-mode", LEG_LEVEL),
                priority=post.get(f"{prefix}-priority", "").strip(),
                multiplier=post.get(f"{prefix}-multiplier", "").strip(),
                cells=cells,
                risk={name: post.get(f"{prefix}-risk-{name}", "").strip() for name, _ in RISK_FIELDS}
                if any(f"{prefix}-risk-{name}" in post for name, _ in RISK_FIELDS)
                else None,
            )
        )
    return rows


def _payload(row: Row, legs: list[Leg]) -> dict:
    """The row as the API's allocation body."""
    payload = {"client_id": row.account.client_id}
    priority = form_int(row.priority)
    if priority is not None:
        payload["priority"] = priority
    if row.risk is not None:
        risk = {}
        for name, _ in RISK_FIELDS:
            typed = row.risk.get(name, "")
            value = form_int(typed) if name == "max_daily_trades" else form_amount(typed)
            if value is not None:
                risk[name] = value
        payload["risk_limits"] = risk
    if row.mode == STRATEGY_LEVEL:
        multiplier = form_text(row.multiplier)
        if multiplier is not None:
            payload["strategy_lots_multiplier"] = multiplier
        return payload
    overrides = {}
    for cell, leg in zip(row.cells, legs, strict=True):
        lots = form_int(cell.lots)
        if lots is None and not cell.enabled:
            lots = leg.lots  # a switched-off cell's lots do not matter; do not refuse it for being blank
        overrides[str(leg.leg_no)] = {"enabled": cell.enabled} | ({"lots": lots} if lots is not None else {})
    payload["allocation_config"] = {"type": row.mode, "leg_overrides": overrides}
    return payload


def _attach_errors(row: Row, errors: dict[str, list[str]]) -> None:
    """Put each message of the API's error body next to the input it is about."""
    by_leg = {cell.leg_no: cell for cell in row.cells}
    for key, messages_ in errors.items():
        parts = key.split("__")
        if "leg_overrides" in parts:
            index = parts.index("leg_overrides")
            leg_no = (
                int(parts[index + 1])
                if len(parts) > index + 1 and parts[index + 1].isascii() and parts[index + 1].isdigit()
                else None
            )
            if leg_no in by_leg:
                by_leg[leg_no].errors.extend(messages_)
                continue
        if parts[0] == "risk_limits":
            label = dict(RISK_FIELDS).get(parts[-1], parts[-1])
            row.errors.setdefault("risk", []).extend(f"{label}: {m}" for m in messages_)
        elif parts[-1] == "strategy_lots_multiplier":
            row.errors.setdefault("multiplier", []).extend(messages_)
        elif parts[0] == "priority":
            row.errors.setdefault("priority", []).extend(messages_)
        elif parts[-1] == "type":
            row.errors.setdefault("mode", []).extend(messages_)
        elif parts[0] in ("non_field_errors", "detail"):
            row.errors.setdefault("general", []).extend(messages_)
        else:
            row.errors.setdefault("general", []).extend(f"{key.replace('__', '.')}: {m}" for m in messages_)


def _compute(request, rows: list[Row], legs: list[Leg], spec) -> None:
    """Validate every on row as the API would and run the lot arithmetic and margin estimate on it."""
    specs = [leg_spec(leg) for leg in legs]
    by_no = {leg.leg_no: leg for leg in legs}
    for row in rows:
        if not row.on:
            continue
        serializer = AllocationWriteSerializer(data=_payload(row, legs), context={"request": request})
        if not serializer.is_valid():
            _attach_errors(row, flatten_errors(serializer.errors))
            continue
        data = serializer.validated_data["input"]
        if row.allocation is not None:
            # The grid edits lots and the risk limits it shows: an existing allocation keeps its other limits,
            # its execution config and its status (and all its limits when the form did not post them).
            saved = row.allocation.risk_limits or {}
            if row.risk is None:
                data.risk_limits = saved
            else:
                data.risk_limits = {k: v for k, v in saved.items() if k not in dict(RISK_FIELDS)} | data.risk_limits
            data.execution_config = row.allocation.execution_config
            data.status = row.allocation.status
        row.input = data
        try:
            account_lots = allocate(
                specs,
                client_id=row.account.client_id,
                allocation_type=data.allocation_type,
                multiplier=data.strategy_lots_multiplier,
                overrides={
                    no: OverrideSpec(lots=o["lots"], enabled=o.get("enabled", True))
                    for no, o in data.leg_overrides.items()
                },
            )
        except LotsError as exc:
            # The arithmetic's refusal names the leg and the account: a sentence, shown under the whole row.
            row.errors.setdefault("general", []).append(exc.message)
            continue
        final = account_lots.lots_by_leg()
        for cell in row.cells:
            cell.final_lots = final.get(cell.leg_no)
            if cell.final_lots is not None and spec.lot_size:
                cell.quantity = cell.final_lots * spec.lot_size
        row.total_lots = account_lots.total_lots
        row.warnings = list(account_lots.warnings)
        if spec.lot_size:
            row.total_quantity = account_lots.total_lots * spec.lot_size
            row.margin = estimate_margin(
                [
                    LegQuantity(by_no[no].leg_type, by_no[no].transaction_type, lots * spec.lot_size)
                    for no, lots in final.items()
                ],
                spot=spec.spot,
            )


def _totals(rows: list[Row], legs: list[Leg], spec, *, basket=None) -> dict:
    counted = [row for row in rows if row.computed]
    columns = []
    for index, leg in enumerate(legs):
        lots = sum(row.cells[index].final_lots or 0 for row in counted)
        columns.append(
            {
                "leg_no": leg.leg_no,
                "lots": indian_grouping(lots),
                "quantity": indian_grouping(lots * spec.lot_size) if spec.lot_size else "—",
            }
        )
    total_lots = sum(row.total_lots for row in counted)
    margins = [row.margin for row in counted]
    margin_known = counted and all(m is not None for m in margins)
    return {
        "columns": columns,
        "lots": indian_grouping(total_lots),
        "quantity": indian_grouping(total_lots * spec.lot_size) if spec.lot_size else "—",
        "margin": indian_grouping(sum(margins)) if margin_known else "—",
        "over_capital": margin_over_capital(sum(margins), basket) if margin_known else None,
        "accounts": sum(1 for row in rows if row.on),
        "complete": all(row.computed for row in rows if row.on),
    }


def _grid(request, strategy: Strategy):
    accounts = list(BrokerAccount.objects.filter(owner=request.user).order_by("client_id"))
    legs = list(strategy.legs.order_by("leg_no"))
    existing = {a.broker_account_id: a for a in allocations_for_strategy(strategy=strategy)}
    # Allocated accounts first, in execution priority; then the others.
    accounts.sort(key=lambda a: (a.pk not in existing, existing[a.pk].priority if a.pk in existing else 0, a.client_id))
    spec = underlying_specs([strategy.underlying])[strategy.underlying]
    return accounts, legs, existing, spec


def _context(strategy, rows, legs, spec, *, general_errors=()) -> dict:
    notices = []
    if not spec.lot_size:
        notices.append(
            f"The instrument master lists no {strategy.underlying} option contracts: quantity and margin are unknown "
            "(run `manage.py load_instruments`)."
        )
    elif spec.spot is None:
        notices.append(f"No {strategy.underlying} price yet: estimated margin is unknown.")
    return {
        "strategy": strategy,
        "rows": rows,
        "legs": legs,
        "spec": spec,
        "modes": MODES,
        "totals": _totals(rows, legs, spec, basket=strategy.basket),
        "notices": notices,
        "general_errors": list(general_errors),
        "margin_formula": MARGIN_FORMULA,
        "risk_fields": RISK_FIELDS,
    }


def _save(strategy: Strategy, rows: list[Row]) -> list[str]:
    """Save the on rows through `allocations_replace` (the off rows lose their allocation); on a refusal nothing is
    written and the messages are attached to the rows (returns messages that belong to no row)."""
    on = [row for row in rows if row.on]
    try:
        services.allocations_replace(strategy=strategy, items=[row.input for row in on])
    except ConflictError as exc:
        return [exc.message]
    except DomainError as exc:
        body = exc.as_body()
        if isinstance(body.get("allocations"), dict):
            for index, item in body["allocations"].items():
                _attach_errors(on[int(index)], flatten_errors(item))
            return []
        return [message for messages_ in domain_errors(exc).values() for message in messages_]
    return []


@login_required
def allocation_grid(request, strategy_id):
    strategy = get_object_or_404(Strategy, owner=request.user, pk=strategy_id)
    accounts, legs, existing, spec = _grid(request, strategy)
    if request.method != "POST":
        rows = _rows_from_db(accounts, legs, existing)
        _compute(request, rows, legs, spec)
        return render(request, "allocations/grid.html", _context(strategy, rows, legs, spec))
    rows = _rows_from_post(request.POST, accounts, legs, existing)
    _compute(request, rows, legs, spec)
    general = []
    if not legs:
        general.append("The strategy has no legs yet; add legs before allocating it.")
    elif not any(row.has_errors for row in rows):
        general = _save(strategy, rows)
        if not general and not any(row.has_errors for row in rows):
            allocated = sum(1 for row in rows if row.on)
            messages.success(request, f"Allocation saved: {allocated} account{'s' if allocated != 1 else ''}.")
            return redirect("allocations:grid", strategy_id=strategy.pk)
    context = _context(strategy, rows, legs, spec, general_errors=general)
    return render(request, "allocations/grid.html", context, status=400)


@login_required
@require_POST
def allocation_preview(request, strategy_id):
    """The grid's figures for what is typed, not saved: out-of-band fragments for every total and warning."""
    strategy = get_object_or_404(Strategy, owner=request.user, pk=strategy_id)
    accounts, legs, existing, spec = _grid(request, strategy)
    rows = _rows_from_post(request.POST, accounts, legs, existing)
    _compute(request, rows, legs, spec)
    return render(request, "allocations/_preview.html", _context(strategy, rows, legs, spec))
