"""Celery beat's schedules for the reminder sweep and the daily digest, kept in the database."""

from django.db import migrations

SWEEP = "Sweep reminders (every 15 minutes)"
DIGEST = "Send daily digests (07:00 UTC)"


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_15, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.update_or_create(
        name=SWEEP,
        defaults={"task": "planning.sweep_reminders", "interval": every_15, "enabled": True},
    )
    seven, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="7", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.update_or_create(
        name=DIGEST,
        defaults={"task": "planning.send_daily_digests", "crontab": seven, "enabled": True},
    )


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[SWEEP, DIGEST]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0003_unknowns_deferrals_notifications_reviews"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
