"""Design review in depth (DESIGN §8): block comments, pinned verdicts, blocking comments,
conditions and the verdicts' due time.

Verdicts given before are pinned to the revisions their review opened on, so none
turns stale by the upgrade alone; reviews get the default due time.
"""

from datetime import timedelta

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def pin_earlier_verdicts(apps, schema_editor):
    DesignReview = apps.get_model("planning", "DesignReview")
    Verdict = apps.get_model("planning", "Verdict")
    for review in DesignReview.objects.filter(verdicts__isnull=False).distinct().iterator():
        Verdict.objects.filter(review=review).update(revisions=review.reviewed_revisions)
    for review in DesignReview.objects.filter(verdicts_due__isnull=True).iterator():
        end = review.scheduled_for + timedelta(minutes=review.duration_minutes)
        DesignReview.objects.filter(pk=review.pk).update(verdicts_due=end + timedelta(days=1))


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0007_notifications_move_out"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="comment",
            name="anchor_block",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="comment",
            name="anchor_fingerprint",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="comment",
            name="anchor_quote",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name="comment",
            name="blocking",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="comment",
            name="overrule_note",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="comment",
            name="overruled_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="comment",
            name="overruled_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="comment",
            name="revision",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="designreview",
            name="verdicts_due",
            field=models.DateTimeField(
                blank=True,
                help_text="When verdicts are due; by default one day after the review's scheduled end.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="unknown",
            name="from_verdict",
            field=models.ForeignKey(
                blank=True,
                help_text="The approval with conditions this unknown is a condition of.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="conditions",
                to="planning.verdict",
            ),
        ),
        migrations.AddField(
            model_name="verdict",
            name="dismiss_note",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="verdict",
            name="dismissed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="verdict",
            name="dismissed_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="verdict",
            name="revisions",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="Artifact kind → revision number the verdict was given on (DESIGN §8).",
            ),
        ),
        migrations.AlterField(
            model_name="verdict",
            name="verdict",
            field=models.CharField(
                choices=[
                    ("approve", "Approve"),
                    ("approve_with_conditions", "Approve with conditions"),
                    ("changes_requested", "Changes requested"),
                    ("comment", "Comment"),
                ],
                max_length=30,
            ),
        ),
        migrations.AddIndex(
            model_name="comment",
            index=models.Index(
                condition=models.Q(
                    ("blocking", True), ("overruled_at__isnull", True), ("resolved", False)
                ),
                fields=["review"],
                name="comment_open_blocking",
            ),
        ),
        migrations.RunPython(pin_earlier_verdicts, migrations.RunPython.noop),
    ]
