from django.contrib import admin

from planning.models import Project


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "squad", "tech_lead", "principal_engineer", "created_at"]
    list_filter = ["squad"]
    search_fields = ["name", "slug", "squad__name"]
    list_select_related = ["squad", "tech_lead", "principal_engineer"]
    autocomplete_fields = ["squad", "tech_lead", "principal_engineer"]
