"""Notification and WebhookDelivery now belong to the notifications app.

State only: their tables stay, with their rows, and notifications 0001
declares the models over them.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0006_webhookdelivery"),
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Notification"),
                migrations.DeleteModel(name="WebhookDelivery"),
            ],
        ),
    ]
