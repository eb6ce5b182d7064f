"""Run the reminder sweep once, for a cron job where no Celery beat runs."""

from django.core.management.base import BaseCommand

from planning.services import notifications, reminders


class Command(BaseCommand):
    help = "Find due reminders, write them, and deliver them (or queue them with --queue)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--queue",
            action="store_true",
            help="Hand deliveries to Celery workers instead of sending them from this process.",
        )

    def handle(self, *args, queue: bool = False, **options) -> None:
        written = reminders.write_reminders()
        self.stdout.write(f"{written.due} reminders due, {written.created} new.")
        if queue:
            queued = notifications.claim_and_enqueue()
            self.stdout.write(f"{queued} deliveries queued for the workers.")
            return
        email_ids, hook_ids = notifications.claim_deliveries()
        sent = sum(notifications.send_email(pk) for pk in email_ids)
        posted = 0
        for pk in hook_ids:
            try:
                posted += notifications.send_webhook(pk)
            except OSError as error:
                self.stderr.write(
                    f"Webhook of notification {pk} failed ({error}); the next run retries it."
                )
        self.stdout.write(f"{sent} emails sent, {posted} webhook messages posted.")
