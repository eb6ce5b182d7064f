"""Celery beat's schedules live in the database, written by data migrations."""

import importlib

import pytest
from django.apps import apps
from django_celery_beat.models import PeriodicTask

pytestmark = pytest.mark.django_db

schedules = importlib.import_module("planning.migrations.0004_reminder_schedules")
digest_renamed = importlib.import_module("notifications.migrations.0005_digest_task_name")


def schedule_as_migrated() -> None:
    """The schedule a migrated database holds: written by planning, the digest renamed since."""
    schedules.create_schedules(apps, None)
    digest_renamed.rename_tasks(apps, None)


def test_the_migrations_schedule_the_sweep_every_15_minutes_and_a_daily_digest():
    PeriodicTask.objects.all().delete()  # whatever earlier tests left
    schedule_as_migrated()
    schedule_as_migrated()  # running them again changes nothing

    sweep = PeriodicTask.objects.get(task="planning.sweep_reminders")
    assert sweep.enabled
    assert (sweep.interval.every, sweep.interval.period) == (15, "minutes")
    digest = PeriodicTask.objects.get(task="notifications.send_daily_digests")
    assert (digest.crontab.hour, digest.crontab.minute) == ("7", "0")
    assert PeriodicTask.objects.count() == 2


def test_renaming_the_digest_task_keeps_the_schedule_an_operator_changed():
    PeriodicTask.objects.all().delete()
    schedules.create_schedules(apps, None)
    PeriodicTask.objects.filter(task="planning.send_daily_digests").update(enabled=False)

    digest_renamed.rename_tasks(apps, None)

    digest = PeriodicTask.objects.get(name=schedules.DIGEST)
    assert (digest.task, digest.enabled) == ("notifications.send_daily_digests", False)
    digest_renamed.rename_tasks_back(apps, None)
    assert PeriodicTask.objects.get(name=schedules.DIGEST).task == "planning.send_daily_digests"


def test_the_tasks_the_schedules_name_are_registered():
    from config.celery import app

    PeriodicTask.objects.all().delete()
    schedule_as_migrated()
    app.loader.import_default_modules()
    for task in PeriodicTask.objects.values_list("task", flat=True):
        assert task in app.tasks
    assert {
        "planning.sweep_reminders",
        "notifications.send_daily_digests",
        "notifications.deliver_email",
        "notifications.deliver_webhook",
    } <= set(app.tasks)
