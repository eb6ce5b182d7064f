"""Shapes of squads, members, people, projects and notifications in the API.

They translate only: types, choices and references in, representations out.
Every rule (who may, what is allowed) is in squads.services, planning.services
and squads.access.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.base import Input, ModelInput, RowIdField
from notifications.models import Notification
from planning.models import Project
from squads.models import Membership, Squad

User = get_user_model()


# People ---------------------------------------------------------------------


class UserBriefSerializer(serializers.ModelSerializer):
    """A person as other objects name them: id, username, full name."""

    class Meta:
        model = User
        fields = ["id", "username", "full_name"]
        read_only_fields = fields


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}]})
class UserReferenceField(serializers.Field):
    """A person named by id (an integer) or by username (a string)."""

    default_error_messages = {
        "unknown": "No one has this id or username.",
        "type": "Give a user id (an integer) or a username (a string).",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("type")
        if isinstance(data, int):
            user = User.objects.filter(pk=data).first()
        elif isinstance(data, str):
            # A CharField refuses blanks, NUL and lone surrogates before the database sees them.
            username = serializers.CharField(max_length=150).run_validation(data)
            user = User.objects.filter(username__iexact=username).first()
        else:
            self.fail("type")
        if user is None:
            self.fail("unknown")
        return user

    def to_representation(self, value):
        return value.pk


# Squads ---------------------------------------------------------------------

SETTINGS = [
    "breakout_mode",
    "remind_after_days",
    "escalate_after_days",
    "vendor_followup_days",
    "min_review_approvals",
    "require_principal_approval",
    "webhook_url",
]


@extend_schema_field(
    {"oneOf": [{"type": "string", "format": "uri"}, {"type": "string", "enum": [""]}]}
)
class WebhookUrlField(serializers.URLField):
    """A URL, or "" for none."""


class SquadSerializer(serializers.ModelSerializer):
    # Not read_only: the schema would then call it required, and only tech leads get it.
    # The serializer only ever writes answers.
    webhook_url = WebhookUrlField(
        required=False, help_text="Present for the squad's tech leads only."
    )

    my_role = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The caller's role in the squad: tech_lead, engineer or product.",
    )

    class Meta:
        model = Squad
        fields = ["id", "name", "slug", "description", *SETTINGS, "my_role", "created_at"]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # The webhook URL is a secret of the squad's tech leads (it posts to their chat).
        if getattr(instance, "my_role", None) != Membership.Role.TECH_LEAD:
            data.pop("webhook_url", None)
        return data


class SquadCreateSerializer(Input):
    name = serializers.CharField(max_length=100)
    slug = serializers.SlugField(max_length=60)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class SquadSettingsSerializer(ModelInput):
    """What a tech lead may change: the name, the description and the planning policy."""

    webhook_url = WebhookUrlField(
        max_length=200, allow_blank=True, required=False, help_text="Empty for none."
    )

    class Meta:
        model = Squad
        fields = ["name", "description", *SETTINGS]


# Members ----------------------------------------------------------------------


class MembershipSerializer(serializers.ModelSerializer):
    user = UserBriefSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["user", "role", "joined_at"]
        read_only_fields = fields


class MemberAddSerializer(Input):
    user = UserReferenceField(help_text="A user id (integer) or username (string).")
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class MemberRoleSerializer(Input):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


# Projects ---------------------------------------------------------------------


class ProjectSerializer(serializers.ModelSerializer):
    squad: serializers.SlugRelatedField[Squad] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Project
        fields = [
            "id",
            "squad",
            "name",
            "slug",
            "summary",
            "tech_lead",
            "principal_engineer",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ProjectCreateSerializer(Input):
    squad = serializers.SlugField(max_length=60, help_text="The squad's slug.")
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=60)
    summary = serializers.CharField(required=False, allow_blank=True, default="")
    tech_lead = RowIdField(queryset=User.objects.all())
    principal_engineer = RowIdField(
        queryset=User.objects.all(), required=False, allow_null=True, default=None
    )


class ProjectUpdateSerializer(Input):
    name = serializers.CharField(max_length=120, required=False)
    slug = serializers.SlugField(max_length=60, required=False)
    summary = serializers.CharField(required=False, allow_blank=True)
    tech_lead = RowIdField(queryset=User.objects.all(), required=False)
    principal_engineer = RowIdField(queryset=User.objects.all(), required=False, allow_null=True)


# Notifications ----------------------------------------------------------------


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "text", "link", "created_at", "read_at"]
        read_only_fields = fields
