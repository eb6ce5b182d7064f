"""Celery beat's schedules live in the database, written by a data migration."""

import importlib

import pytest
from django.apps import apps
from django_celery_beat.models import PeriodicTask

pytestmark = pytest.mark.django_db

schedules = importlib.import_module("planning.migrations.0004_reminder_schedules")


def test_the_migration_schedules_the_sweep_every_15_minutes_and_a_daily_digest():
    PeriodicTask.objects.all().delete()  # whatever earlier tests left
    schedules.create_schedules(apps, None)
    schedules.create_schedules(apps, None)  # running it again changes nothing

    sweep = PeriodicTask.objects.get(task="planning.sweep_reminders")
    assert sweep.enabled
    assert (sweep.interval.every, sweep.interval.period) == (15, "minutes")
    digest = PeriodicTask.objects.get(task="planning.send_daily_digests")
    assert (digest.crontab.hour, digest.crontab.minute) == ("7", "0")
    assert PeriodicTask.objects.count() == 2


def test_the_tasks_the_schedules_name_are_registered():
    from config.celery import app

    app.loader.import_default_modules()
    for task in PeriodicTask.objects.values_list("task", flat=True):
        assert task in app.tasks
    assert {"planning.sweep_reminders", "planning.send_daily_digests"} <= set(app.tasks)
