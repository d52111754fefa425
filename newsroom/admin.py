from django.contrib import admin

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
