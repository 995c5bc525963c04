"""Tenant isolation in the admin: an owned object's owner changes only while nothing depends on it.

Moving a broker account, basket or strategy that other rows point at would hand one user's orders, positions or
strategies to another (or mix two users' objects in one tree). Such a change is a form error, and the attempt is
logged; with nothing depending on the object the change is allowed (and recorded in the admin's history)."""

import logging

from django.core.exceptions import ValidationError

log = logging.getLogger("platform.admin")


def dependent_rows(obj) -> list[str]:
    """Names of the relations that hold rows pointing at `obj` (reverse foreign keys and one-to-ones)."""
    found = []
    for relation in obj._meta.related_objects:
        if not (relation.one_to_many or relation.one_to_one):
            continue
        model = relation.related_model
        if model._default_manager.filter(**{relation.field.name: obj}).exists():
            found.append(str(model._meta.verbose_name_plural))
    return sorted(found)


class OwnerChangeGuardMixin:
    """For a ModelForm with an `owner` field."""

    def clean_owner(self):
        owner = self.cleaned_data["owner"]
        instance = self.instance
        if instance.pk and owner is not None and instance.owner_id != owner.pk:
            dependents = dependent_rows(instance)
            if dependents:
                log.warning(
                    "owner change refused: %s %s from user %s to user %s (it has %s)",
                    instance._meta.label,
                    instance.pk,
                    instance.owner_id,
                    owner.pk,
                    ", ".join(dependents),
                )
                raise ValidationError(
                    f"cannot change owner: this {instance._meta.verbose_name} has {', '.join(dependents)} that "
                    "belong to its current owner. Create a new one for the new owner instead."
                )
        return owner
