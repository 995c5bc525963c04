"""The paper broker: a simulated broker that runs the same engine as live trading."""

from .base import SessionHealth, register


@register("PAPER")
class PaperBroker:
    def __init__(self, account):
        self.account = account

    def check_session(self) -> SessionHealth:
        return SessionHealth(ok=True, detail="paper broker: always connected")
