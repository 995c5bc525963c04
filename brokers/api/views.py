from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import OwnedQuerysetMixin

from .. import services
from ..models import BrokerAccount
from .serializers import BrokerAccountSerializer, SessionHealthSerializer


class BrokerAccountQuerysetMixin(OwnedQuerysetMixin):
    serializer_class = BrokerAccountSerializer
    lookup_field = "client_id"

    def get_queryset(self):
        return self.scope(BrokerAccount.objects.all())


class BrokerAccountListCreate(BrokerAccountQuerysetMixin, generics.ListCreateAPIView):
    def perform_create(self, serializer):
        serializer.instance = services.broker_account_create(owner=self.request.user, **serializer.validated_data)


class BrokerAccountDetail(BrokerAccountQuerysetMixin, generics.RetrieveUpdateDestroyAPIView):
    def perform_update(self, serializer):
        serializer.instance = services.broker_account_update(account=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.broker_account_delete(account=instance)


class BrokerAccountCheck(BrokerAccountQuerysetMixin, APIView):
    @extend_schema(request=None, responses={200: SessionHealthSerializer})
    def post(self, request, client_id):
        account = generics.get_object_or_404(self.get_queryset(), client_id=client_id)
        health = services.broker_account_check(account=account)
        body = {"client_id": account.client_id, "ok": health.ok, "detail": health.detail}
        body["last_ok_at"] = account.last_ok_at
        return Response(SessionHealthSerializer(body).data, status=status.HTTP_200_OK)
