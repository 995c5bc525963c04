from django.contrib import admin, messages
from django.utils import timezone

from brokers.admin import BrokerAccountAdmin

from . import dispatch
from .models import Alert, Execution, Fill, Order, OrderEvent, Position
from .services.alerts import alerts_acknowledge
from .services.killswitch import kill_switch_engage, kill_switch_release
from .services.monitors import reconciliation_report
from .services.schedule import execution_cancel


class ViewOnlyAdminMixin:
    """Trading history is written by the execution engine only: ops can read it here but not add, edit or delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OrderInline(ViewOnlyAdminMixin, admin.TabularInline):
    model = Order
    extra = 0
    show_change_link = True
    fields = [
        "tag",
        "broker_account",
        "leg_no",
        "instrument",
        "side",
        "lots",
        "quantity",
        "status",
        "filled_quantity",
        "average_price",
        "broker_order_id",
        "error",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("broker_account", "instrument")


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    list_display = [
        "strategy",
        "execution_type",
        "execution_date",
        "execution_time",
        "trigger",
        "status",
        "started_at",
        "completed_at",
    ]
    list_filter = ["status", "execution_type", "trigger", "strategy__underlying"]
    search_fields = ["strategy__strategy_name"]
    list_select_related = ["strategy"]
    date_hierarchy = "execution_date"
    inlines = [OrderInline]
    actions = ["cancel_scheduled"]

    # Executions come from the scheduler or a trader's manual trigger, and their status belongs to the engine;
    # the one safe edit from here is the cancel action below.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_cancel_permission(self, request):
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description="Cancel selected scheduled executions", permissions=["cancel"])
    def cancel_scheduled(self, request, queryset):
        selected = queryset.count()
        cancelled = execution_cancel(execution_ids=list(queryset.values_list("pk", flat=True)))
        for execution in cancelled:
            self.log_change(request, execution, "Cancelled from the admin.")
        message = f"Cancelled {len(cancelled)} scheduled execution{'' if len(cancelled) == 1 else 's'}."
        if selected - len(cancelled):
            message += f" {selected - len(cancelled)} selected were not SCHEDULED and were left unchanged."
        self.message_user(request, message)


class FillInline(ViewOnlyAdminMixin, admin.TabularInline):
    model = Fill
    extra = 0
    fields = ["broker_fill_id", "side", "quantity", "price", "filled_at"]
    readonly_fields = fields


class OrderEventInline(ViewOnlyAdminMixin, admin.TabularInline):
    model = OrderEvent
    extra = 0
    fields = ["at", "from_status", "to_status", "source", "filled_quantity", "quantity", "price", "detail"]
    readonly_fields = fields
    ordering = ["at", "id"]


@admin.register(Order)
class OrderAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "tag",
        "strategy",
        "broker_account",
        "leg_no",
        "instrument",
        "side",
        "lots",
        "quantity",
        "status",
        "filled_quantity",
        "average_price",
        "broker_order_id",
        "created_at",
    ]
    list_filter = ["status", "side", "broker_account__broker", "strategy__underlying", "created_at"]
    search_fields = [
        "tag",
        "broker_order_id",
        "instrument__tradingsymbol",
        "broker_account__client_id",
        "strategy__strategy_name",
    ]
    list_select_related = ["strategy", "broker_account", "instrument"]
    date_hierarchy = "created_at"
    inlines = [OrderEventInline, FillInline]

    def get_queryset(self, request):
        # The changelist skips list_select_related once the queryset has a select_related, so name them all:
        # the change page shows the execution and the leg, whose __str__ name their strategy.
        return (
            super()
            .get_queryset(request)
            .select_related(*self.list_select_related, "execution__strategy", "leg__strategy")
        )


@admin.register(OrderEvent)
class OrderEventAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order__tag", "at", "from_status", "to_status", "source", "filled_quantity", "quantity", "price"]
    list_filter = ["source", "to_status", "order__broker_account__broker", "at"]
    search_fields = ["order__tag", "order__broker_order_id", "detail"]
    list_select_related = ["order"]
    date_hierarchy = "at"


@admin.register(Fill)
class FillAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "order__tag",
        "strategy",
        "broker_account",
        "instrument",
        "side",
        "quantity",
        "price",
        "broker_fill_id",
        "filled_at",
    ]
    list_filter = ["side", "broker_account__broker", "strategy__underlying", "filled_at"]
    search_fields = ["order__tag", "order__broker_order_id", "broker_fill_id", "instrument__tradingsymbol"]
    list_select_related = ["order", "strategy", "broker_account", "instrument"]
    date_hierarchy = "filled_at"

    def get_queryset(self, request):
        # As in OrderAdmin: the order's __str__ names its instrument.
        return super().get_queryset(request).select_related(*self.list_select_related, "order__instrument")


@admin.register(Position)
class PositionAdmin(admin.ModelAdmin):
    list_display = [
        "strategy",
        "broker_account",
        "instrument",
        "net_quantity",
        "average_price",
        "realized_pnl",
        "updated_at",
    ]
    list_filter = ["broker_account__broker", "strategy__underlying", "instrument__option_type"]
    search_fields = ["strategy__strategy_name", "broker_account__client_id", "instrument__tradingsymbol"]
    list_select_related = ["strategy", "broker_account", "instrument"]
    autocomplete_fields = ["strategy", "broker_account", "instrument"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "severity", "owner", "message", "acknowledged_at"]
    list_filter = ["kind", "severity", ("acknowledged_at", admin.EmptyFieldListFilter)]
    search_fields = ["message", "owner__username"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    readonly_fields = ["owner", "kind", "severity", "message", "strategy", "execution", "broker_account", "created_at"]
    actions = ["acknowledge"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # alerts are a record; the only change is acknowledging them (the action)

    def has_acknowledge_permission(self, request):
        # Acknowledging changes the alert: view-only staff may read alerts, not clear them.
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description="Acknowledge selected alerts", permissions=["acknowledge"])
    def acknowledge(self, request, queryset):
        changed = alerts_acknowledge(alerts=queryset, now=timezone.now())
        self.message_user(request, f"Acknowledged {changed} alert(s).")


# The broker accounts' kill-switch and reconciliation actions run the engine's services, so they live here and are
# added to brokers' BrokerAccountAdmin (brokers must not import execution).


def _by_owner(queryset):
    for owner_id in set(queryset.values_list("owner_id", flat=True)):
        accounts = list(queryset.filter(owner_id=owner_id).select_related("owner"))
        yield accounts[0].owner, accounts


@admin.action(description="Block new entries (kill switch)", permissions=["change"])
def block_entries(modeladmin, request, queryset):
    """Through `kill_switch_engage`, so the reason is stored on the accounts and an alert records it."""
    changed = 0
    for owner, accounts in _by_owner(queryset.filter(entries_blocked=False)):
        kill_switch_engage(
            owner=owner, accounts=accounts, flatten=False, reason=f"admin action by {request.user}", now=timezone.now()
        )
        changed += len(accounts)
    modeladmin.message_user(request, f"Blocked new entries on {changed} account(s).")


@admin.action(description="Kill switch: block entries and flatten every book", permissions=["change"])
def flatten_and_block(modeladmin, request, queryset):
    exits = []
    for owner, accounts in _by_owner(queryset):
        exits += kill_switch_engage(
            owner=owner,
            accounts=accounts,
            flatten=True,
            reason=f"admin action by {request.user}",
            now=timezone.now(),
            send=dispatch.execution_send,
        )
    modeladmin.message_user(request, f"Blocked entries; {len(exits)} exit execution(s) started to flatten the books.")


@admin.action(description="Clear the entry block", permissions=["change"])
def clear_entry_block(modeladmin, request, queryset):
    """Through `kill_switch_release`, so an alert records who cleared it."""
    changed = 0
    for owner, accounts in _by_owner(queryset.filter(entries_blocked=True)):
        kill_switch_release(owner=owner, accounts=accounts)
        changed += len(accounts)
    modeladmin.message_user(request, f"Cleared the entry block on {changed} account(s).")


@admin.action(description="Reconcile with the broker (report only)", permissions=["change"])
def reconcile(modeladmin, request, queryset):
    for account in queryset:
        report = reconciliation_report(account)
        if report["ok"]:
            modeladmin.message_user(request, f"{account.client_id}: broker and books agree.")
            continue
        parts = [
            f"{m['tradingsymbol']} broker {m['broker_quantity']} / books {m['book_quantity']}"
            for m in report["mismatches"]
        ]
        parts += [f"unknown order {o['tag']}" for o in report["unknown_orders"]]
        text = report["error"] or "; ".join(parts)
        modeladmin.message_user(request, f"{account.client_id}: {text}", level=messages.WARNING)


BrokerAccountAdmin.actions = [block_entries, flatten_and_block, clear_entry_block, reconcile]
