"""Django admin for power users: read-only views of the mirror, resync actions, sync runs."""

from __future__ import annotations

from functools import cached_property

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connection

from intercom_mirror import sync
from intercom_mirror.models import (
    Admin,
    Company,
    Contact,
    Conversation,
    ConversationPart,
    Note,
    Segment,
    SyncRun,
    SyncState,
    Tag,
    Team,
    WebhookDelivery,
)

RESYNC_LIMIT = 50


class EstimatedCountPaginator(Paginator):
    """Count an unfiltered PostgreSQL table from its statistics: COUNT(*) over millions of rows is slow."""

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if connection.vendor == "postgresql" and query is not None and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [query.model._meta.db_table]
                )
                row = cursor.fetchone()
            if row and row[0] > 10_000:
                return int(row[0])
        return super().count


class MirrorAdmin(admin.ModelAdmin):
    """Everything synced is read-only: the mirror must not be edited into divergence."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + [f.name for f in self.model._meta.many_to_many]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def resync_action(kind: str):
    @admin.action(description="Resync from Intercom")
    def resync(modeladmin, request, queryset):
        ids = list(queryset.values_list("intercom_id", flat=True)[: RESYNC_LIMIT + 1])
        if len(ids) > RESYNC_LIMIT:
            modeladmin.message_user(
                request, f"Select at most {RESYNC_LIMIT} rows, or use `manage.py intercom_sync`.", messages.ERROR
            )
            return
        synced, deleted, errors = sync.resync_many(kind, ids)
        modeladmin.message_user(request, f"Resynced {synced}; {deleted} no longer in Intercom (flagged deleted).")
        for error in errors:
            modeladmin.message_user(request, error, messages.ERROR)

    resync.__name__ = f"resync_{kind}"
    return resync


class DeletedFilter(admin.SimpleListFilter):
    title = "in Intercom"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "Live"), ("yes", "Deleted")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(Contact)
class ContactAdmin(MirrorAdmin):
    list_display = ["intercom_id", "role", "name", "email", "user_id", "updated_at", "synced_at", "deleted_at"]
    list_filter = ["role", DeletedFilter, "unsubscribed_from_emails"]
    search_fields = ["=intercom_id", "=user_id", "email", "name"]
    actions = [resync_action("contact")]


@admin.register(Company)
class CompanyAdmin(MirrorAdmin):
    list_display = ["intercom_id", "company_id", "name", "plan", "user_count", "monthly_spend", "updated_at"]
    list_filter = [DeletedFilter, "plan"]
    search_fields = ["=intercom_id", "=company_id", "name"]
    actions = [resync_action("company")]


class PartInline(admin.TabularInline):
    model = ConversationPart
    fields = ["intercom_id", "part_type", "author_type", "author_intercom_id", "created_at", "body"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    max_num = 0


@admin.register(Conversation)
class ConversationAdmin(MirrorAdmin):
    list_display = ["intercom_id", "state", "customer", "assignee_admin", "assignee_team", "updated_at", "parts_drift"]
    list_filter = ["state", DeletedFilter, "read", "assignee_team"]
    list_select_related = ["customer", "assignee_admin", "assignee_team"]
    search_fields = ["=intercom_id", "subject", "=customer__intercom_id", "customer__email"]
    actions = [resync_action("conversation")]
    inlines = [PartInline]

    @admin.display(description="drift")
    def parts_drift(self, obj: Conversation) -> int:
        return obj.parts_drift


@admin.register(ConversationPart)
class ConversationPartAdmin(MirrorAdmin):
    list_display = ["intercom_id", "conversation", "part_type", "author_type", "created_at"]
    list_filter = ["part_type"]
    list_select_related = ["conversation"]
    search_fields = ["=intercom_id", "=conversation__intercom_id"]


@admin.register(Admin)
class AdminAdmin(MirrorAdmin):
    list_display = ["intercom_id", "name", "email", "away_mode_enabled", "deleted_at"]
    list_filter = ["away_mode_enabled", DeletedFilter]
    search_fields = ["=intercom_id", "name", "email"]


@admin.register(Team)
class TeamAdmin(MirrorAdmin):
    list_display = ["intercom_id", "name", "deleted_at"]
    search_fields = ["=intercom_id", "name"]


@admin.register(Tag)
class TagAdmin(MirrorAdmin):
    list_display = ["intercom_id", "name", "deleted_at"]
    list_filter = [DeletedFilter]
    search_fields = ["=intercom_id", "name"]


@admin.register(Segment)
class SegmentAdmin(MirrorAdmin):
    list_display = ["intercom_id", "name", "person_type", "deleted_at"]
    list_filter = ["person_type", DeletedFilter]
    search_fields = ["=intercom_id", "name"]


@admin.register(Note)
class NoteAdmin(MirrorAdmin):
    list_display = ["intercom_id", "contact", "author", "created_at"]
    list_select_related = ["contact", "author"]
    search_fields = ["=intercom_id", "=contact__intercom_id", "contact__email"]


@admin.register(SyncRun)
class SyncRunAdmin(MirrorAdmin):
    list_display = [
        "started_at", "resource", "kind", "status", "fetched", "created", "updated", "deleted",
        "api_requests", "drift", "duration",
    ]  # fmt: skip
    list_filter = ["status", "kind", "resource"]
    date_hierarchy = "started_at"


@admin.register(SyncState)
class SyncStateAdmin(MirrorAdmin):
    list_display = ["resource", "watermark", "last_full_at", "locked_by", "locked_until"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(MirrorAdmin):
    list_display = ["received_at", "topic", "notification_id", "outcome"]
    list_filter = ["topic"]
    search_fields = ["=notification_id"]
