"""What strategies tell the apps above them, without importing them.

`legs_changed` is sent inside the transaction of every leg change (legs replaced, one leg updated), after the
change is written and before it commits, with `strategy=`. A receiver may refuse the change by raising
`config.exceptions.DomainError`: the error reaches the caller and the transaction rolls back. allocations
connects its check (an allocation must not end up trading 0 lots or outside position sizing) in
`AllocationsConfig.ready`.
"""

from django.dispatch import Signal

legs_changed = Signal()
