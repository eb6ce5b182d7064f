"""Notifications no longer carry a webhook: every post is a signed WebhookDelivery (0003)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_unsigned_webhooks_become_deliveries"),
    ]

    operations = [
        migrations.RemoveField(model_name="notification", name="webhook_claimed_at"),
        migrations.RemoveField(model_name="notification", name="webhook_sent_at"),
        migrations.RemoveField(model_name="notification", name="webhook_url"),
    ]
