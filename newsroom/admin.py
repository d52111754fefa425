from django.contrib import admin

from curation.admin_desk import queue_summary
from curation.models import EDITORS_GROUP


class NewsroomAdminSite(admin.AdminSite):
    site_header = "Newsroom curation"
    site_title = "Newsroom"
    index_title = "Curation"

    def has_permission(self, request):
        """Superusers and editors reach the admin; other staff accounts do not."""
        user = request.user
        return (
            user.is_active
            and user.is_staff
            and (user.is_superuser or user.groups.filter(name=EDITORS_GROUP).exists())
        )

    def index(self, request, extra_context=None):
        """The index also says how many articles wait for review, linking to the queue."""
        context = dict(extra_context or {})
        if request.user.has_perm("curation.view_article"):
            context["review_queue"] = queue_summary()
        return super().index(request, context)
