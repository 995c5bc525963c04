"""What baskets tell the apps above them, without importing them.

`basket_deleting` is sent inside `basket_delete`'s transaction, before the basket row goes, with `basket=`. A
receiver deals with what it keeps in the basket, or refuses the deletion by raising
`config.exceptions.DomainError` (the error reaches the caller and the transaction rolls back). strategies connects
`strategies.services.basket_strategies_release` in `StrategiesConfig.ready`: refused (409) while the basket holds
ACTIVE strategies; its paused or archived ones stay as standalone strategies.
"""

from django.dispatch import Signal

basket_deleting = Signal()
