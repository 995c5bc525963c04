"""One place that turns domain refusals into HTTP answers (STYLE.md: errors)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(Exception):
    """A refusal a trader can understand. `field` names the input at fault when there is one."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, message, *, field=None):
        super().__init__(str(message))
        self.message = message
        self.field = field

    def as_body(self):
        if isinstance(self.message, dict):
            return self.message
        if self.field:
            return {self.field: [self.message]}
        return {"detail": self.message}


class ConflictError(DomainError):
    """The request is valid but the current state forbids it; the user can fix the state (409)."""

    status_code = status.HTTP_409_CONFLICT

    def as_body(self):
        return {"detail": self.message}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_body(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        body = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = DRFValidationError(body)
    return drf_exception_handler(exc, context)
