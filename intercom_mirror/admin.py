"""Django admin for power users: view-only pages of the mirror, resync actions, sync runs.

Nothing here edits the mirror: every page is view-only (the mirror must not be
edited into divergence from Intercom), and the only write is a resync, which
reads the record back from Intercom.
"""

from __future__ import annotations

import html
import json
import re
from functools import cached_property
from typing import Any

import nh3
from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist
from django.core.paginator import Paginator
from django.db import connection, models
from django.db.models import Case, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce, NullIf
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from intercom_mirror import sync
from intercom_mirror.models import (
    Admin,
    Company,
    Contact,
    Conversation,
    ConversationPart,
    Note,
    Segment,
    StaffAction,
    StaffProfile,
    SyncRun,
    SyncState,
    Tag,
    Team,
    WebhookDelivery,
)

RESYNC_LIMIT = 50
# Long text columns are cut here, and names in link columns at NAME_CHARS, so that a
# changelist fits a 1,400 px screen next to the admin's navigation and filters.
EXCERPT_CHARS = 60
NAME_CHARS = 40
EMPTY = "-"  # the admin's empty_value_display: methods shown as read-only fields must return it themselves

# What an Intercom body may keep: formatting, links and images. No scripts, styles,
# event handlers, forms or frames, and links only to http(s) and mail addresses.
BODY_TAGS = {
    "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "i", "img", "li", "ol", "p", "pre",
    "s", "span", "strong", "u", "ul",
}  # fmt: skip
BODY_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}}
BODY_URL_SCHEMES = {"http", "https", "mailto"}
# Where a block ends, an excerpt needs a space: "<p>Hi</p><p>there</p>" reads "Hi there".
BLOCK_END = re.compile(r"<(?:br|/p|/div|/li|/h\d|/blockquote)\b[^>]*>", re.IGNORECASE)


def sanitised(body: str) -> SafeString:
    """Return Intercom HTML reduced to the allow-list above, safe to render."""
    cleaned = nh3.clean(body or "", tags=BODY_TAGS, attributes=BODY_ATTRIBUTES, url_schemes=BODY_URL_SCHEMES)
    return mark_safe(cleaned)  # noqa: S308 - nh3 has just removed everything outside the allow-list


def excerpt(body: str, limit: int = EXCERPT_CHARS) -> str:
    """Return the plain text of Intercom HTML, whitespace collapsed, cut at limit characters."""
    plain = html.unescape(nh3.clean(BLOCK_END.sub(" ", body or ""), tags=set()))
    return Truncator(" ".join(plain.split())).chars(limit)


def truncated(value: Any, limit: int = EXCERPT_CHARS) -> str:
    return Truncator(value).chars(limit) if value else EMPTY


def pretty_json(value: Any) -> SafeString:
    """Return JSON indented and escaped, in a <pre>."""
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html('<pre class="mirror-json">{}</pre>', text)


def admin_link(model: type[models.Model], pk: Any, label: str) -> SafeString:
    """Return a link to a row's admin page, labelled with its (truncated) name."""
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[pk])
    return format_html('<a href="{}">{}</a>', url, Truncator(label).chars(NAME_CHARS))


def related_link(obj: models.Model, name: str) -> str:
    """Return a link to the row a ForeignKey points at, or its Intercom id when that row isn't mirrored."""
    field = obj._meta.get_field(name)
    key = getattr(obj, field.attname)
    if not key:
        return EMPTY
    try:
        row = getattr(obj, name)
    except ObjectDoesNotExist:
        row = None
    if row is None:  # the link has no database constraint: the row may arrive later, or never
        return f"{key} (not mirrored)"
    return admin_link(type(row), row.pk, str(row))


# Parts and opening messages name their author and assignee by (type, Intercom id), without a ForeignKey.
PERSON_MODELS: dict[type[models.Model], list[str]] = {
    Admin: ["admin", "bot"],
    Contact: ["user", "lead", "contact"],
    Team: ["team"],
}
# The columns a row is named by, first non-empty wins (as each model's __str__ does).
NAME_COLUMNS: dict[type[models.Model], list[str]] = {
    Admin: ["name", "email", "intercom_id"],
    Contact: ["name", "email", "pseudonym", "user_id", "intercom_id"],
    Team: ["name", "intercom_id"],
}


def person_annotations(prefix: str, type_field: str, id_field: str) -> dict[str, Case]:
    """Return annotations `<prefix>_name` and `<prefix>_pk` for the admin, contact or team a (type, id) pair names.

    Subqueries on the unique intercom_id, so a changelist stays one query whatever its length.
    """

    def pick(value) -> Case:
        whens = [
            When(
                **{f"{type_field}__in": kinds},
                then=Subquery(model.objects.filter(intercom_id=OuterRef(id_field)).values(found=value(model))[:1]),
            )
            for model, kinds in PERSON_MODELS.items()
        ]
        return Case(*whens)

    def name(model):
        return Coalesce(*(NullIf(F(column), Value("")) for column in NAME_COLUMNS[model]))

    return {f"{prefix}_name": pick(name), f"{prefix}_pk": pick(lambda model: F("pk"))}


def person_link(obj: models.Model, prefix: str, kind: str, intercom_id: str) -> str:
    """Return a link to the person annotated on obj under prefix, or their type and id when not mirrored."""
    pk = getattr(obj, f"{prefix}_pk", None)
    model = next((m for m, kinds in PERSON_MODELS.items() if kind in kinds), None)
    if pk is not None and model is not None:
        return admin_link(model, pk, getattr(obj, f"{prefix}_name"))
    return f"{kind} {intercom_id}".strip() or EMPTY


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
    """Everything synced is view-only: the mirror must not be edited into divergence.

    Without change permission Django renders every field read-only, offers only
    "Close", refuses POSTs to the change page (403) and writes no history.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    # Fields shown through a method instead of Django's rendering (raw HTML, compact JSON, bare ids).
    shown_as: dict[str, str] = {
        "raw": "raw_json",
        "custom_attributes": "custom_attributes_json",
        "payload": "payload_json",
        "body": "body_html",
    }

    class Media:
        css = {"all": ["css/admin-mirror.css"]}

    def get_readonly_fields(self, request, obj=None):
        names = [f.name for f in self.model._meta.fields] + [f.name for f in self.model._meta.many_to_many]
        names.sort(key=lambda name: name == "raw")  # the raw payload is long: last
        return [self.shown_as.get(name, name) for name in names]

    def get_fields(self, request, obj=None):
        # Only these: a field shown through a method must not also appear as itself.
        return self.get_readonly_fields(request, obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="raw JSON")
    def raw_json(self, obj) -> SafeString:
        return pretty_json(obj.raw)

    @admin.display(description="custom attributes")
    def custom_attributes_json(self, obj) -> SafeString:
        return pretty_json(obj.custom_attributes)

    @admin.display(description="payload")
    def payload_json(self, obj) -> SafeString:
        return pretty_json(obj.payload)

    @admin.display(description="body")
    def body_html(self, obj) -> SafeString:
        return sanitised(obj.body)

    @admin.display(description="body")
    def body_excerpt(self, obj) -> str:
        return excerpt(obj.body) or EMPTY


def resync_action(kind: str):
    # A resync only reads Intercom back into the mirror, so viewing is permission enough.
    @admin.action(description="Resync from Intercom", permissions=["view"])
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


class TagFilter(admin.SimpleListFilter):
    title = "tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        return [(pk, truncated(name, NAME_CHARS)) for pk, name in Tag.objects.live().values_list("pk", "name")]

    def queryset(self, request, queryset):
        return queryset.filter(tags__pk=self.value()) if self.value() else queryset


@admin.register(Contact)
class ContactAdmin(MirrorAdmin):
    list_display = ["contact_name", "role", "email_column", "tag_names", "updated_at", "deleted_at"]
    list_filter = ["role", DeletedFilter, TagFilter, "unsubscribed_from_emails"]
    search_fields = ["=intercom_id", "=user_id", "email", "name"]
    actions = [resync_action("contact")]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

    @admin.display(description="name", ordering="name")
    def contact_name(self, obj: Contact) -> str:
        return truncated(obj.display_name, NAME_CHARS)

    @admin.display(description="email", ordering="email")
    def email_column(self, obj: Contact) -> str:
        return truncated(obj.email)

    @admin.display(description="tags")
    def tag_names(self, obj: Contact) -> str:
        return truncated(", ".join(tag.name for tag in obj.tags.all()))


@admin.register(Company)
class CompanyAdmin(MirrorAdmin):
    list_display = ["company_name", "company_id", "plan_column", "user_count", "monthly_spend", "updated_at"]
    list_filter = [DeletedFilter, "plan"]
    search_fields = ["=intercom_id", "=company_id", "name"]
    actions = [resync_action("company")]

    @admin.display(description="name", ordering="name")
    def company_name(self, obj: Company) -> str:
        return truncated(str(obj), NAME_CHARS)

    @admin.display(description="plan", ordering="plan")
    def plan_column(self, obj: Company) -> str:
        return truncated(obj.plan, 30)


PARTS_ANNOTATIONS = {
    **person_annotations("author", "author_type", "author_intercom_id"),
    **person_annotations("assigned", "assigned_to_type", "assigned_to_intercom_id"),
}


class PartLinks:
    """Author and assignee columns for admins whose rows carry ConversationPart's annotations."""

    @admin.display(description="author")
    def author_link(self, obj) -> str:
        return person_link(obj, "author", obj.author_type, obj.author_intercom_id)

    @admin.display(description="assigned to")
    def assigned_to_link(self, obj: ConversationPart) -> str:
        return person_link(obj, "assigned", obj.assigned_to_type, obj.assigned_to_intercom_id)


class PartInline(PartLinks, admin.TabularInline):
    model = ConversationPart
    fields = ["created_at", "part_type", "author_link", "assigned_to_link", "body_html"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(**PARTS_ANNOTATIONS)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="body")
    def body_html(self, obj: ConversationPart) -> SafeString:
        return sanitised(obj.body)


@admin.register(Conversation)
class ConversationAdmin(PartLinks, MirrorAdmin):
    list_display = ["title", "state", "customer_link", "assignee", "updated_at", "parts_drift"]
    list_display_links = ["title"]
    list_filter = ["state", DeletedFilter, "read", "assignee_team"]
    list_select_related = ["customer", "assignee_admin", "assignee_team"]
    search_fields = ["=intercom_id", "subject", "=customer__intercom_id", "customer__email"]
    actions = [resync_action("conversation")]
    inlines = [PartInline]
    shown_as = {
        **MirrorAdmin.shown_as,
        "customer": "customer_link",
        "assignee_admin": "assignee_admin_link",
        "assignee_team": "assignee_team_link",
        "author_intercom_id": "author_link",
    }

    def get_queryset(self, request):
        last_message = (
            ConversationPart.objects.filter(conversation=OuterRef("pk"))
            .exclude(body="")
            .order_by("-created_at", "-id")
            .values("body")[:1]
        )
        return (
            super()
            .get_queryset(request)
            .annotate(last_message=Subquery(last_message))
            .annotate(**person_annotations("author", "author_type", "author_intercom_id"))
        )

    @admin.display(description="subject or last message")
    def title(self, obj: Conversation) -> str:
        if obj.subject:
            return truncated(obj.subject)
        return excerpt(getattr(obj, "last_message", None) or obj.body) or "(no message)"

    @admin.display(description="customer", ordering="customer__name")
    def customer_link(self, obj: Conversation) -> str:
        return related_link(obj, "customer")

    @admin.display(description="assignee admin", ordering="assignee_admin__name")
    def assignee_admin_link(self, obj: Conversation) -> str:
        return related_link(obj, "assignee_admin")

    @admin.display(description="assignee team", ordering="assignee_team__name")
    def assignee_team_link(self, obj: Conversation) -> str:
        return related_link(obj, "assignee_team")

    @admin.display(description="assignee", ordering="assignee_admin__name")
    def assignee(self, obj: Conversation) -> str:
        # One column for the admin and the team, so that the list fits a 1,400 px screen.
        links = [
            related_link(obj, name) for name in ("assignee_admin", "assignee_team") if obj.serializable_value(name)
        ]
        return format_html_join(mark_safe("<br>"), "{}", ((link,) for link in links)) if links else EMPTY

    @admin.display(description="drift")
    def parts_drift(self, obj: Conversation) -> int:
        return obj.parts_drift


@admin.register(ConversationPart)
class ConversationPartAdmin(PartLinks, MirrorAdmin):
    list_display = ["body_excerpt", "conversation_link", "part_type", "author_link", "assigned_to_link", "created_at"]
    list_display_links = ["body_excerpt"]
    list_filter = ["part_type"]
    list_select_related = ["conversation"]
    search_fields = ["=intercom_id", "=conversation__intercom_id"]
    shown_as = {
        **MirrorAdmin.shown_as,
        "author_intercom_id": "author_link",
        "assigned_to_intercom_id": "assigned_to_link",
    }

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(**PARTS_ANNOTATIONS)

    @admin.display(description="conversation", ordering="conversation")
    def conversation_link(self, obj: ConversationPart) -> str:
        conversation = obj.conversation
        return admin_link(Conversation, conversation.pk, conversation.subject or f"#{conversation.intercom_id}")


@admin.register(Admin)
class AdminAdmin(MirrorAdmin):
    list_display = ["admin_name", "email", "away_mode_enabled", "deleted_at"]
    list_filter = ["away_mode_enabled", DeletedFilter]
    search_fields = ["=intercom_id", "name", "email"]

    @admin.display(description="name", ordering="name")
    def admin_name(self, obj: Admin) -> str:
        return truncated(str(obj), NAME_CHARS)


@admin.register(Team)
class TeamAdmin(MirrorAdmin):
    list_display = ["team_name", "deleted_at"]
    search_fields = ["=intercom_id", "name"]

    @admin.display(description="name", ordering="name")
    def team_name(self, obj: Team) -> str:
        return truncated(str(obj), NAME_CHARS)


@admin.register(Tag)
class TagAdmin(MirrorAdmin):
    list_display = ["tag_name", "deleted_at"]
    list_filter = [DeletedFilter]
    search_fields = ["=intercom_id", "name"]

    @admin.display(description="name", ordering="name")
    def tag_name(self, obj: Tag) -> str:
        return truncated(obj.name, NAME_CHARS)


@admin.register(Segment)
class SegmentAdmin(MirrorAdmin):
    list_display = ["segment_name", "person_type", "deleted_at"]
    list_filter = ["person_type", DeletedFilter]
    search_fields = ["=intercom_id", "name"]

    @admin.display(description="name", ordering="name")
    def segment_name(self, obj: Segment) -> str:
        return truncated(obj.name, NAME_CHARS)


@admin.register(Note)
class NoteAdmin(MirrorAdmin):
    list_display = ["body_excerpt", "contact_link", "author_link", "created_at"]
    list_display_links = ["body_excerpt"]
    list_select_related = ["contact", "author"]
    search_fields = ["=intercom_id", "=contact__intercom_id", "contact__email"]
    shown_as = {**MirrorAdmin.shown_as, "contact": "contact_link", "author": "author_link"}

    @admin.display(description="contact", ordering="contact__name")
    def contact_link(self, obj: Note) -> str:
        return related_link(obj, "contact")

    @admin.display(description="author", ordering="author__name")
    def author_link(self, obj: Note) -> str:
        return related_link(obj, "author")


@admin.register(SyncRun)
class SyncRunAdmin(MirrorAdmin):
    list_display = ["started_at", "resource", "kind", "status", "fetched", "changes", "requests", "drift", "duration"]
    list_filter = ["status", "kind", "resource"]
    date_hierarchy = "started_at"

    @admin.display(description="changes")
    def changes(self, obj: SyncRun) -> str:
        return f"{obj.created} new, {obj.updated} updated, {obj.deleted} deleted"

    @admin.display(description="API calls", ordering="api_requests")
    def requests(self, obj: SyncRun) -> int:
        return obj.api_requests


@admin.register(SyncState)
class SyncStateAdmin(MirrorAdmin):
    list_display = ["resource", "watermark", "last_full_at", "lock_column"]

    @admin.display(description="lock")
    def lock_column(self, obj: SyncState) -> str:
        return f"held by {obj.describe_lock()}" if obj.locked_by else "free"


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(MirrorAdmin):
    list_display = ["received_at", "topic", "notification_id", "status_code", "outcome_column"]
    list_filter = ["topic"]
    search_fields = ["=notification_id"]

    @admin.display(description="outcome", ordering="outcome")
    def outcome_column(self, obj: WebhookDelivery) -> str:
        return truncated(obj.outcome)


@admin.register(StaffAction)
class StaffActionAdmin(MirrorAdmin):
    """The staff-action log: every write a staff user asked for, and what Intercom answered."""

    list_display = ["created_at", "user", "verb", "target_column", "state", "http_status", "seconds", "error_column"]
    list_filter = ["state", "verb"]
    list_select_related = ["user"]
    search_fields = ["=target_intercom_id", "user__username"]
    shown_as = {**MirrorAdmin.shown_as, "request_body": "request_body_json"}

    @admin.display(description="record")
    def target_column(self, obj: StaffAction) -> str:
        return f"{obj.target_type} {obj.target_intercom_id}"

    @admin.display(description="time", ordering="duration_ms")
    def seconds(self, obj: StaffAction) -> str:
        return "" if obj.duration_ms is None else f"{obj.duration_ms / 1000:.1f} s"

    @admin.display(description="error")
    def error_column(self, obj: StaffAction) -> str:
        return truncated(obj.error_message)

    @admin.display(description="request body")
    def request_body_json(self, obj: StaffAction) -> SafeString:
        return pretty_json(obj.request_body)


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    """Which Intercom admin each staff user's writes are sent as (matched by email on first login)."""

    list_display = ["user", "admin", "keyboard_shortcuts"]
    list_select_related = ["user", "admin"]
    search_fields = ["user__username", "user__email"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "admin":
            kwargs["queryset"] = Admin.objects.live().order_by("name")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
