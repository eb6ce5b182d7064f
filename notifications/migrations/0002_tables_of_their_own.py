"""The moved tables take this app's names; webhook deliveries become an outbox like emails.

A delivery gets `claimed_at` (the same lease as email claims) and a unique
`dedupe_key` (events that a sweep finds); a failed email gets a status and a
reason, as a failed delivery already has.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("planning", "0007_notifications_move_out"),
    ]

    operations = [
        migrations.AlterModelTable(name="notification", table=None),
        migrations.AlterModelTable(name="webhookdelivery", table=None),
        migrations.RenameIndex(
            model_name="webhookdelivery",
            new_name="webhookdelivery_log_idx",
            old_name="planning_we_squad_i_97b0bc_idx",
        ),
        migrations.AlterField(
            model_name="notification",
            name="email",
            field=models.CharField(
                choices=[
                    ("pending", "To send now"),
                    ("digest", "For the daily digest"),
                    ("sent", "Sent"),
                    ("none", "Not emailed"),
                    ("failed", "Failed"),
                ],
                default="pending",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="notification",
            name="email_error",
            field=models.CharField(
                blank=True, help_text="Why the email failed, when it did.", max_length=300
            ),
        ),
        migrations.AlterField(
            model_name="webhookdelivery",
            name="last_error",
            field=models.CharField(
                blank=True,
                help_text="Why the last attempt failed, or why it was given up.",
                max_length=300,
            ),
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="claimed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="dedupe_key",
            field=models.CharField(blank=True, max_length=200, null=True),
        ),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["status", "claimed_at"],
                name="webhookdelivery_outbox_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="webhookdelivery",
            constraint=models.UniqueConstraint(
                condition=models.Q(("dedupe_key__isnull", False)),
                fields=("dedupe_key",),
                name="webhookdelivery_dedupe_key_unique",
            ),
        ),
    ]
