"""Ingest in the admin: sources (with their idle alerts), runs, failed files (retry), pushed
files, and the tombstones of deleted articles (restore). The work is curation/ingest.py's."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from . import ingest
from .models import Delivery, IngestFailure, IngestRun, Source, SourceFile, Tombstone


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the ingest, never by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "kind",
        "enabled",
        "where",
        "last_arrival_at",
        "last_success_at",
        "last_error_at",
        "idle_alert",
        "open_failures",
    )
    list_filter = ("kind", "enabled")
    search_fields = ("name", "path")
    readonly_fields = (
        "token_hint",
        "last_arrival_at",
        "last_success_at",
        "last_error_at",
        "last_error",
        "created_at",
    )
    fields = (
        "name",
        "kind",
        "path",
        "enabled",
        "max_pushes_per_minute",
        "idle_alert_after",
        *readonly_fields,
    )
    actions = ("make_new_token", "look_again")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                open_failure_count=Count("failures", filter=Q(failures__resolved_at__isnull=True))
            )
        )

    def changelist_view(self, request, extra_context=None):
        now = timezone.now()
        for source in Source.objects.filter(idle_alert_after__isnull=False, enabled=True):
            since = source.idle_since(now)
            if since is not None:
                self.message_user(
                    request,
                    f"{source.name}: nothing has arrived since {since:%Y-%m-%d %H:%M} UTC "
                    f"(the alert is set at {source.idle_alert_after}).",
                    messages.WARNING,
                )
        return super().changelist_view(request, extra_context)

    @admin.display(description="Folder or token")
    def where(self, obj):
        return obj.path if obj.kind == Source.Kind.FOLDER else f"token {obj.token_hint}…"

    @admin.display(description="Idle alert")
    def idle_alert(self, obj):
        since = obj.idle_since()
        if since is None:
            return "—"
        return format_html(
            '<strong class="errornote">nothing since {}</strong>', f"{since:%Y-%m-%d %H:%M}"
        )

    @admin.display(description="Open failures", ordering="open_failure_count")
    def open_failures(self, obj):
        if not obj.open_failure_count:
            return 0
        url = reverse("admin:curation_ingestfailure_changelist")
        return format_html(
            '<a href="{}?source__id__exact={}&amp;open=yes">{}</a>',
            url,
            obj.pk,
            obj.open_failure_count,
        )

    def save_model(self, request, obj, form, change):
        token = obj.new_token() if obj.kind == Source.Kind.PUSH and not obj.token_hash else None
        super().save_model(request, obj, form, change)
        if token:
            self._show_token(request, obj, token)

    def _show_token(self, request, source, token):
        self.message_user(
            request,
            f"Push token for {source.name} (shown only now; keep it with the sender): {token}",
            messages.WARNING,
        )

    @admin.action(description="Make a new push token (the old one stops working)")
    def make_new_token(self, request, queryset):
        for source in queryset.filter(kind=Source.Kind.PUSH):
            token = source.new_token()
            source.save(update_fields=["token_hash", "token_hint"])
            self._show_token(request, source, token)

    @admin.action(description="Read every file of the folder again at the next poll")
    def look_again(self, request, queryset):
        deleted, _ = SourceFile.objects.filter(source__in=queryset).delete()
        self.message_user(request, f"{deleted} file(s) will be read again.", messages.SUCCESS)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class FailureInline(admin.TabularInline):
    model = IngestFailure
    fields = ("path", "reason", "resolved_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(IngestRun)
class IngestRunAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at",
        "trigger",
        "source",
        "created",
        "updated",
        "unchanged",
        "conflicts",
        "skipped",
        "failed",
        "took",
    )
    list_filter = ("trigger", "source", "started_at")
    date_hierarchy = "started_at"
    list_select_related = ("source",)
    inlines = (FailureInline,)

    @admin.display(description="Took")
    def took(self, obj):
        if obj.finished_at is None:
            return "running"
        return f"{(obj.finished_at - obj.started_at).total_seconds():.2f} s"


class OpenFilter(admin.SimpleListFilter):
    title = "settled"
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return (("yes", "Still failing"), ("no", "Imported since"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(IngestFailure)
class IngestFailureAdmin(admin.ModelAdmin):
    list_display = ("failed_at", "source", "path", "reason", "resolved_at")
    list_filter = (OpenFilter, "source", "run__trigger", "failed_at")
    search_fields = ("path", "key", "reason")
    list_select_related = ("source",)
    readonly_fields = ("run", "source", "path", "key", "reason", "failed_at", "delivery")
    fields = (*readonly_fields, "resolved_at")
    actions = ("retry",)

    @admin.action(description="Import the selected files again", permissions=["change"])
    def retry(self, request, queryset):
        report = ingest.retry_failures(queryset.select_related("delivery", "source"))
        counts = ", ".join(f"{count} {name}" for name, count in report.counts().items())
        level = messages.WARNING if report.failed else messages.SUCCESS
        self.message_user(request, f"Imported again: {counts}.", level)
        for line in report.failed[:10]:
            self.message_user(request, line, messages.ERROR)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "source", "name", "state", "outcome", "finished_at")
    list_filter = ("state", "outcome", "source")
    search_fields = ("name",)
    list_select_related = ("source",)
    exclude = ("content",)


@admin.register(Tombstone)
class TombstoneAdmin(ReadOnlyAdmin):
    list_display = ("key", "title", "deleted_by_name", "deleted_at")
    search_fields = ("key", "title")
    list_filter = ("deleted_at",)
    exclude = ("source_text", "deleted_by")
    actions = ("restore",)

    @admin.action(description="Restore (import the kept seed text again)", permissions=["restore"])
    def restore(self, request, queryset):
        for tombstone in queryset:
            report = ingest.restore(tombstone)
            if report.failed:
                self.message_user(request, report.failed[0], messages.ERROR)
            elif report.created or report.updated:
                self.message_user(request, f"{tombstone.key}: restored.", messages.SUCCESS)
            else:
                self.message_user(
                    request,
                    f"{tombstone.key}: allowed again (no seed text was kept; the next import "
                    "or push of it brings it back).",
                    messages.SUCCESS,
                )

    def has_restore_permission(self, request):
        return request.user.is_superuser


def _hide_queue_admin_without_queue() -> None:
    """Procrastinate's own admin (jobs, events) reads tables that exist on PostgreSQL only."""
    from procrastinate.contrib.django import models as queue_models

    if ingest.uses_queue():
        return
    for model in (
        queue_models.ProcrastinateJob,
        queue_models.ProcrastinateEvent,
        queue_models.ProcrastinatePeriodicDefer,
        queue_models.ProcrastinateWorker,
    ):
        if admin.site.is_registered(model):
            admin.site.unregister(model)


_hide_queue_admin_without_queue()
