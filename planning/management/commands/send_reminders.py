"""Run the reminder sweep once, for a cron job where no Celery beat runs."""

from django.core.management.base import BaseCommand

from notifications import delivery, mail, webhooks
from planning.services import reminders


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
            queued = delivery.queue_deliveries()
            self.stdout.write(f"{queued.total} deliveries queued for the workers.")
            return
        # No workers: claim the same outbox the sweep would queue, and send it from here.
        claimed = delivery.claim_deliveries()
        sent = sum(mail.send_email(pk) for pk in claimed.emails)
        posted = 0
        for pk in claimed.webhooks:
            try:
                posted += webhooks.post_delivery(pk)
            except OSError as error:
                self.stderr.write(
                    f"Webhook delivery {pk} failed ({error}); the next run retries it."
                )
        self.stdout.write(f"{sent} emails sent, {posted} webhook messages posted.")
