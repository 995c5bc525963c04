"""Validation rules for strategies and legs that the API, the pages and the admin share. Pure, no ORM."""

from __future__ import annotations

from decimal import Decimal

# Strategy times must fall inside the regular session (Asia/Kolkata); dated exceptions live in TradingSession.
from market.calendar import REGULAR_CLOSE as SESSION_CLOSE
from market.calendar import REGULAR_OPEN as SESSION_OPEN

# Documented defaults for a leg that names entry_by but no strike_selection_config (echoed as warnings).
DEFAULT_STRIKE_SELECTION = {
    "DELTA": {"method": "DELTA", "delta_value": Decimal("0.20")},
    "STRIKE_DISTANCE": {"method": "STRIKE_DISTANCE", "strike_distance": Decimal("500")},
    "ATM_OFFSET": {"method": "ATM_OFFSET", "atm_offset": 0},
}
METHOD_PARAMETER = {"DELTA": "delta_value", "STRIKE_DISTANCE": "strike_distance", "ATM_OFFSET": "atm_offset"}


def strategy_time_errors(*, entry_time, exit_time, is_intra_day: bool, entry_days, exit_days) -> dict:
    """Field-keyed errors for a strategy's schedule; empty when it is valid."""
    errors: dict[str, list[str]] = {}
    for name, value in (("entry_time", entry_time), ("exit_time", exit_time)):
        if value is not None and not (SESSION_OPEN <= value <= SESSION_CLOSE):
            errors.setdefault(name, []).append(
                f"{value:%H:%M} is outside the trading session {SESSION_OPEN:%H:%M}-{SESSION_CLOSE:%H:%M} IST."
            )
    if is_intra_day and entry_time and exit_time and exit_time <= entry_time and "exit_time" not in errors:
        errors["exit_time"] = [
            f"An intraday (MIS) strategy must exit after it enters: {exit_time:%H:%M} is not after {entry_time:%H:%M}."
        ]
    if is_intra_day and entry_days is not None and exit_days is not None and set(exit_days) != set(entry_days):
        errors.setdefault("exit_days", []).append(
            "An intraday (MIS) strategy exits on the days it enters: exit_days must equal entry_days."
        )
    return errors
