"""The daily digest is now the notifications app's task: beat's schedule follows the new name.

planning 0004 wrote the schedule under "planning.send_daily_digests"; a
deployment keeps its row (and any change an operator made to its time), with
the task renamed.
"""

from django.db import migrations
from django.utils import timezone

RENAMED = {"planning.send_daily_digests": "notifications.send_daily_digests"}


def rename_tasks(apps, schema_editor, renamed=RENAMED):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    changed = 0
    for old, new in renamed.items():
        changed += PeriodicTask.objects.filter(task=old).update(task=new)
    if changed:
        # What django-celery-beat's signals do on a save: a running beat reloads its schedule.
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def rename_tasks_back(apps, schema_editor):
    rename_tasks(apps, schema_editor, {new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_remove_notification_webhook"),
        ("planning", "0004_reminder_schedules"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(rename_tasks, rename_tasks_back)]
