from django.contrib import admin

from planning.models import Activity, Artifact, ArtifactRevision, Milestone, Project


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "squad", "tech_lead", "principal_engineer", "created_at"]
    list_filter = ["squad"]
    search_fields = ["name", "slug", "squad__name"]
    list_select_related = ["squad", "tech_lead", "principal_engineer"]
    autocomplete_fields = ["squad", "tech_lead", "principal_engineer"]


class ArtifactInline(admin.TabularInline):
    model = Artifact
    fields = ["kind", "status", "needed", "revision", "updated_by", "updated_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Milestone)
class MilestoneAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "phase", "tech_lead", "due_on", "updated_at"]
    list_filter = ["phase", "project__squad"]
    search_fields = ["title", "project__name"]
    list_select_related = ["project", "tech_lead"]
    autocomplete_fields = ["project", "tech_lead"]
    # Phases move only through the workflow engine, which checks the guards.
    readonly_fields = ["phase", "number"]
    inlines = [ArtifactInline]


@admin.register(Artifact)
class ArtifactAdmin(admin.ModelAdmin):
    list_display = ["kind", "milestone", "status", "needed", "revision", "updated_at"]
    list_filter = ["kind", "status"]
    search_fields = ["milestone__title"]
    list_select_related = ["milestone"]
    # Bodies change only through revisions, so that no edit is ever lost.
    readonly_fields = ["milestone", "kind", "body", "revision", "updated_by"]


@admin.register(ArtifactRevision)
class ArtifactRevisionAdmin(admin.ModelAdmin):
    list_display = ["artifact", "number", "author", "created_at"]
    list_select_related = ["artifact__milestone", "author"]
    readonly_fields = ["artifact", "number", "body", "author", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["created_at", "milestone", "actor", "verb", "summary"]
    list_filter = ["verb"]
    list_select_related = ["milestone", "actor"]
    search_fields = ["summary"]
    readonly_fields = ["milestone", "actor", "verb", "summary", "data", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
