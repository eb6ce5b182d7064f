"""Notifications: people's inbox and emails, squads' signed webhooks, and their one way out.

Other apps write messages through `notifications.services.notify` (one person)
and `notifications.webhooks.queue_event` (one squad); the reminder sweep writes
them in bulk. `notifications.delivery` is the only place that claims what is
undelivered and queues the tasks that send it.
"""
