from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from .models import TokenVersion
from .services import user_tokens_revoke

User = get_user_model()


@admin.register(TokenVersion)
class TokenVersionAdmin(admin.ModelAdmin):
    list_display = ["user", "version", "revoked_at", "reason"]
    search_fields = ["user__username"]
    readonly_fields = ["user", "version", "revoked_at", "reason"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.unregister(User)


@admin.register(User)
class PlatformUserAdmin(UserAdmin):
    actions = ["revoke_sessions"]

    @admin.action(
        description="Revoke sessions: sign out everywhere (every token and browser session)", permissions=["change"]
    )
    def revoke_sessions(self, request, queryset):
        for user in queryset:
            user_tokens_revoke(user=user, reason=f"revoked by {request.user} in the admin")
        self.message_user(request, f"Signed out {queryset.count()} user(s) everywhere.", level=messages.WARNING)
