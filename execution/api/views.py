from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from brokers.models import BrokerAccount
from config.api import parse_query_date, parse_query_uuid
from config.exceptions import ConflictError
from market import calendar
from market import selectors as market_selectors
from strategies.models import Strategy

from .. import selectors
from ..dispatch import execution_send
from ..models import Alert
from ..services import killswitch, monitors, order_actions, schedule
from ..services.alerts import alerts_acknowledge
from .serializers import (
    AlertSerializer,
    ExecutionDetailSerializer,
    ExecutionSerializer,
    KillSwitchResultSerializer,
    KillSwitchSerializer,
    ManualExecutionSerializer,
    MarketStatusSerializer,
    OrderSerializer,
    PositionSerializer,
    ReconciliationSerializer,
    ScheduleSerializer,
)

query_uuid = parse_query_uuid
query_date = parse_query_date


def query_bool(request, name):
    """`true` or `false` (any case); anything else (an empty value too) is a 400 naming the parameter, never read
    as false."""
    value = request.query_params.get(name)
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise serializers.ValidationError({name: ["Must be true or false."]})
    return value.lower() == "true"


def query_choice(request, name, choices):
    value = request.query_params.get(name)
    if value is None:
        return None
    if value.upper() not in choices:
        raise serializers.ValidationError({name: [f"Must be one of {', '.join(c.lower() for c in choices)}."]})
    return value.upper()


@extend_schema(
    parameters=[
        OpenApiParameter("date", OpenApiTypes.DATE, description="Default: today (Asia/Kolkata)"),
        OpenApiParameter("type", str, enum=["entry", "exit"]),
    ],
    responses={200: ScheduleSerializer},
)
class ScheduleView(APIView):
    """What runs on a day, computed from the trading calendar, including days with no Execution row yet."""

    def get(self, request):
        day = query_date(request, "date") or timezone.now().astimezone(calendar.EXCHANGE_TZ).date()
        kind = query_choice(request, "type", ("ENTRY", "EXIT"))
        closed, items = schedule.schedule_for_day(owner=request.user, day=day, execution_type=kind)
        body = {
            "date": day,
            "is_trading_day": {exchange: not shut for exchange, shut in closed.items()},
            "holidays": [exchange for exchange, shut in closed.items() if shut and day.weekday() < 5],
            "is_confirmed": market_selectors.confirmed_on(day),
            "executions": [
                {
                    "strategy_id": item.strategy_id,
                    "strategy_name": item.strategy_name,
                    "underlying": item.underlying,
                    "execution_type": item.execution_type,
                    "execution_time": item.execution_time,
                    "due_at": item.due_at,
                    "execution_id": item.execution.pk if item.execution else None,
                    "status": item.execution.status if item.execution else "PLANNED",
                }
                for item in items
            ],
        }
        return Response(ScheduleSerializer(body).data)


@extend_schema(
    parameters=[
        OpenApiParameter("strategy_id", OpenApiTypes.UUID),
        OpenApiParameter("from_date", OpenApiTypes.DATE),
        OpenApiParameter("to_date", OpenApiTypes.DATE),
    ]
)
class ExecutionHistory(generics.ListAPIView):
    serializer_class = ExecutionSerializer

    def get_queryset(self):
        queryset = selectors.executions_for(owner=self.request.user).order_by("-due_at")
        strategy_id = query_uuid(self.request, "strategy_id")
        start, end = query_date(self.request, "from_date"), query_date(self.request, "to_date")
        if start and end and end < start:
            raise serializers.ValidationError({"to_date": ["Must not be before from_date."]})
        if strategy_id:
            queryset = queryset.filter(strategy_id=strategy_id)
        if start:
            queryset = queryset.filter(execution_date__gte=start)
        if end:
            queryset = queryset.filter(execution_date__lte=end)
        return queryset


class ExecutionDetail(generics.RetrieveAPIView):
    serializer_class = ExecutionDetailSerializer
    lookup_field = "id"
    lookup_url_kwarg = "execution_id"

    def get_queryset(self):
        return selectors.executions_for(owner=self.request.user)


class ManualExecution(APIView):
    """Run an entry or exit now, through the same path as scheduled ones (202: it runs in the worker)."""

    @extend_schema(
        request=ManualExecutionSerializer,
        responses={
            202: ExecutionSerializer,
            409: OpenApiResponse(description="A manual run of this type already happened today; use force."),
        },
    )
    def post(self, request):
        body = ManualExecutionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        strategy = Strategy.objects.filter(owner=request.user, pk=body.validated_data["strategy_id"]).first()
        if strategy is None:
            raise serializers.ValidationError({"strategy_id": ["Strategy not found."]})
        try:
            execution = schedule.execution_manual_create(
                strategy=strategy,
                execution_type=body.validated_data["execution_type"].upper(),
                force=body.validated_data["force"],
                now=timezone.now(),
                send=execution_send,
            )
        except ConflictError as exc:
            raise ConflictError(f"{exc.message} Send force=true to run another.") from exc
        execution.refresh_from_db()
        return Response(ExecutionSerializer(execution).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(parameters=[OpenApiParameter("strategy_id", OpenApiTypes.UUID), OpenApiParameter("client_id", str)])
class PositionList(generics.ListAPIView):
    """Each strategy's own book: net quantity, average price, realized and unrealized P&L, gross, the estimated
    charges of its executed orders (`fees`) and net = gross − fees."""

    serializer_class = PositionSerializer

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        lines = page if page is not None else list(queryset)
        # The page's charges in one query, whatever it holds (PositionSerializer reads them from the context).
        self.charges = selectors.book_charges(strategy_ids={p.strategy_id for p in lines}) if lines else {}
        return page

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if hasattr(self, "charges"):
            context["charges"] = self.charges
        return context

    def get_queryset(self):
        queryset = selectors.positions_for(owner=self.request.user).order_by(
            "strategy__strategy_name", "broker_account__client_id", "instrument__tradingsymbol"
        )
        strategy_id = query_uuid(self.request, "strategy_id")
        client_id = self.request.query_params.get("client_id")
        if strategy_id:
            queryset = queryset.filter(strategy_id=strategy_id)
        if client_id:
            queryset = queryset.filter(broker_account__client_id=client_id)
        return queryset


@extend_schema(
    parameters=[OpenApiParameter("execution_id", OpenApiTypes.UUID), OpenApiParameter("strategy_id", OpenApiTypes.UUID)]
)
class OrderList(generics.ListAPIView):
    serializer_class = OrderSerializer

    def get_queryset(self):
        queryset = selectors.orders_for(owner=self.request.user).order_by("-created_at", "sequence")
        execution_id = query_uuid(self.request, "execution_id")
        strategy_id = query_uuid(self.request, "strategy_id")
        if execution_id:
            queryset = queryset.filter(execution_id=execution_id)
        if strategy_id:
            queryset = queryset.filter(strategy_id=strategy_id)
        return queryset


class _OrderAction(APIView):
    """A trader's action on one of their working orders (execution.services.order_actions)."""

    service = None

    def post(self, request, order_id):
        data = request.data  # a malformed body is a 400 here, before anything is done
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object (or no body)."]})
        if data:
            raise serializers.ValidationError({key: ["Unknown field: this action takes no body."] for key in data})
        order = get_object_or_404(selectors.orders_for(owner=request.user), pk=order_id)
        order = self.service(order, user=request.user)
        return Response(OrderSerializer(order).data)


@extend_schema(
    request=None,
    responses={
        200: OrderSerializer,
        404: OpenApiResponse(description="No such order of yours."),
        409: OpenApiResponse(description="The order is finished, not yet confirmed by the broker, or refused."),
    },
)
class OrderCancel(_OrderAction):
    """Cancel a working order at its broker (a PENDING one, never sent, is cancelled here). The answer is the
    order as recorded after the broker's reply: CANCELLED, or FILLED/PARTIAL when a fill beat the cancel."""

    service = staticmethod(order_actions.order_cancel)


@extend_schema(
    request=None,
    responses={
        200: OrderSerializer,
        404: OpenApiResponse(description="No such order of yours."),
        409: OpenApiResponse(description="Finished, not yet at the broker, already at market, or no fresh price."),
    },
)
class OrderToMarket(_OrderAction):
    """Send a working LIMIT order's unfilled quantity at market now, protected at the touch ± its leg's
    market_protection_pct (the chase's last step). The answer is the order as recorded after the broker's reply."""

    service = staticmethod(order_actions.order_to_market)


def _engage(request, accounts):
    if not isinstance(request.data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object (or no body)."]})
    body = KillSwitchSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    exits = killswitch.kill_switch_engage(
        owner=request.user,
        accounts=accounts,
        flatten=body.validated_data["flatten"],
        reason=body.validated_data["reason"],
        now=timezone.now(),
        send=execution_send,
    )
    result = {
        "accounts": [a.client_id for a in accounts],
        "entries_blocked": True,
        "exit_execution_ids": [e.pk for e in exits],
    }
    return Response(KillSwitchResultSerializer(result).data)


def _release(request, accounts):
    killswitch.kill_switch_release(owner=request.user, accounts=accounts)
    result = {"accounts": [a.client_id for a in accounts], "entries_blocked": False, "exit_execution_ids": []}
    return Response(KillSwitchResultSerializer(result).data)


class AccountKillSwitch(APIView):
    """Stop new entries on one account (and optionally flatten its books). Survives restarts; DELETE releases."""

    def account(self, request, client_id):
        return get_object_or_404(BrokerAccount, owner=request.user, client_id=client_id)

    @extend_schema(request=KillSwitchSerializer, responses={200: KillSwitchResultSerializer})
    def post(self, request, client_id):
        return _engage(request, [self.account(request, client_id)])

    @extend_schema(request=None, responses={200: KillSwitchResultSerializer})
    def delete(self, request, client_id):
        return _release(request, [self.account(request, client_id)])


class UserKillSwitch(APIView):
    """Stop new entries on every account of the user (and optionally flatten every book)."""

    @extend_schema(request=KillSwitchSerializer, responses={200: KillSwitchResultSerializer})
    def post(self, request):
        return _engage(request, list(BrokerAccount.objects.filter(owner=request.user)))

    @extend_schema(request=None, responses={200: KillSwitchResultSerializer})
    def delete(self, request):
        return _release(request, list(BrokerAccount.objects.filter(owner=request.user)))


class Reconciliation(APIView):
    """What the broker holds that the books do not explain; nothing is placed to fix it."""

    @extend_schema(
        responses={
            200: ReconciliationSerializer,
            409: OpenApiResponse(description="The broker could not be asked (no session, no adapter, refused)."),
        }
    )
    def get(self, request, client_id):
        account = get_object_or_404(BrokerAccount, owner=request.user, client_id=client_id)
        report = monitors.reconciliation_report(account)
        if report["error"]:
            raise ConflictError(
                f"{account.client_id}: the broker could not be asked for its positions: {report['error']}"
            )
        return Response(ReconciliationSerializer(report).data)


@extend_schema(parameters=[OpenApiParameter("unacknowledged", bool)])
class AlertList(generics.ListAPIView):
    serializer_class = AlertSerializer

    def get_queryset(self):
        queryset = Alert.objects.filter(owner=self.request.user).select_related("broker_account")
        if query_bool(self.request, "unacknowledged"):
            queryset = queryset.filter(acknowledged_at=None)
        return queryset


class AlertAcknowledge(APIView):
    @extend_schema(request=None, responses={200: AlertSerializer})
    def post(self, request, alert_id):
        alert = get_object_or_404(Alert, owner=request.user, pk=alert_id)
        alerts_acknowledge(alerts=Alert.objects.filter(pk=alert.pk), now=timezone.now())
        alert.refresh_from_db()
        return Response(AlertSerializer(alert).data)


class FeedStatus(APIView):
    """The market-data feed per underlying (last price, last update, stale or not) and each exchange's holiday
    calendar horizon ("confirmed until") with what ops must do about it."""

    @extend_schema(responses={200: MarketStatusSerializer})
    def get(self, request):
        now = timezone.now()
        today = now.astimezone(calendar.EXCHANGE_TZ).date()
        body = {
            "feeds": monitors.feed_status(now=now),
            "calendar": market_selectors.horizon_statuses(today),
            "readiness": market_selectors.readiness_message(today),
        }
        return Response(MarketStatusSerializer(body).data)
