"""Notification and WebhookDelivery move here from the planning app, tables and rows included.

State only: the models are declared here over planning's existing tables
(planning 0007 drops them from its own state), so nothing in the database
changes but the content types, which follow the models so that permissions
and admin history stay attached.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MODELS = ["notification", "webhookdelivery"]


def move_content_types(apps, schema_editor, source="planning", target="notifications"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if ContentType.objects.filter(app_label=target, model=model).exists():
            continue  # remove_stale_contenttypes deals with the old one
        ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="notifications", target="planning")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("planning", "0006_webhookdelivery"),
        ("squads", "0002_squad_webhook_secret"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Notification",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("owner_nudge", "Reminder to the owner"),
                                    ("escalation", "Escalation"),
                                    ("blocker_overdue", "Blocker overdue"),
                                    ("vendor_followup", "Vendor follow-up"),
                                    ("deferral_pending", "Deferral waiting"),
                                    ("review_at_risk", "Review at risk"),
                                    ("deferral_requested", "Deferral requested"),
                                    ("deferral_decided", "Deferral decided"),
                                    ("unknown_assigned", "Unknown assigned"),
                                    ("review_invited", "Invited to a review"),
                                    ("review_opened", "Review opened"),
                                    ("review_closed", "Review closed"),
                                    ("changes_requested", "Changes requested"),
                                    ("concern_answered", "Concern answered"),
                                    ("subtask_assigned", "Sub-task assigned"),
                                    ("meeting_scheduled", "Meeting scheduled"),
                                ],
                                max_length=30,
                            ),
                        ),
                        ("text", models.CharField(max_length=500)),
                        ("link", models.CharField(blank=True, max_length=500)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("read_at", models.DateTimeField(blank=True, null=True)),
                        ("dedupe_key", models.CharField(blank=True, max_length=200, null=True)),
                        (
                            "email",
                            models.CharField(
                                choices=[
                                    ("pending", "To send now"),
                                    ("digest", "For the daily digest"),
                                    ("sent", "Sent"),
                                    ("none", "Not emailed"),
                                ],
                                default="pending",
                                max_length=10,
                            ),
                        ),
                        ("email_claimed_at", models.DateTimeField(blank=True, null=True)),
                        ("emailed_at", models.DateTimeField(blank=True, null=True)),
                        ("webhook_url", models.URLField(blank=True, max_length=500)),
                        ("webhook_claimed_at", models.DateTimeField(blank=True, null=True)),
                        ("webhook_sent_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "recipient",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notifications",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "calendar",
                            models.TextField(
                                blank=True, help_text="An .ics invitation attached to the email."
                            ),
                        ),
                    ],
                    options={
                        "db_table": "planning_notification",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(
                                fields=["recipient", "read_at"], name="notification_inbox_idx"
                            ),
                            models.Index(
                                condition=models.Q(("email__in", ["pending", "digest"])),
                                fields=["email", "email_claimed_at"],
                                name="notification_outbox_idx",
                            ),
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("dedupe_key__isnull", False)),
                                fields=("dedupe_key",),
                                name="notification_dedupe_key_unique",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="WebhookDelivery",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("event", models.CharField(max_length=40)),
                        ("url", models.URLField(max_length=500)),
                        ("payload", models.JSONField()),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("sent", "Sent"),
                                    ("failed", "Failed"),
                                ],
                                default="pending",
                                max_length=10,
                            ),
                        ),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        (
                            "response_status",
                            models.PositiveSmallIntegerField(blank=True, null=True),
                        ),
                        ("last_error", models.CharField(blank=True, max_length=300)),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "squad",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="webhook_deliveries",
                                to="squads.squad",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "planning_webhookdelivery",
                        "verbose_name_plural": "webhook deliveries",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(
                                fields=["squad", "-created_at"],
                                name="planning_we_squad_i_97b0bc_idx",
                            )
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
