"""Run the reminder sweep once, for a cron job where no Celery beat runs.

Without --queue the deliveries are sent from this process, one at a time, and
no delivery stops the others: one that fails for good is marked failed with
its reason (the admin and the squad's delivery page show it); one that fails
for a passing reason is left for the next run. The exit status is 1 only
when emails were left that way (the mail server is the deployment's own and
someone should look at it); failures of single messages or of a squad's
webhook are reported here and recorded on their rows, and a second run
could not change them.
"""

import smtplib

from django.core.management.base import BaseCommand, CommandError

from notifications import delivery, mail, webhooks
from notifications.models import Notification, WebhookDelivery
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
        sent, emails_left = self._send_emails(claimed)
        posted, webhooks_left = self._post_webhooks(claimed)
        self.stdout.write(f"{sent} emails sent, {posted} webhook messages posted.")
        self._report_failures(claimed)
        if webhooks_left:
            self.stderr.write(f"{webhooks_left} webhook messages are left for the next run.")
        if emails_left:
            raise CommandError(
                f"{emails_left} emails could not be sent now and are left for the next run."
            )

    def _send_emails(self, claimed: delivery.Claimed) -> tuple[int, int]:
        sent = left = 0
        for index, pk in enumerate(claimed.emails):
            try:
                sent += mail.send_email(pk)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as error:
                # The server answered, for this message only ("try later"): go on with the rest.
                delivery.release(delivery.Claimed([pk], []))
                self.stderr.write(f"Email {pk} is left for the next run ({mail.describe(error)}).")
                left += 1
            except mail.TRANSIENT_ERRORS as error:
                # The mail server is away, or refuses us (login, sender): the rest would fail alike.
                rest = claimed.emails[index:]
                delivery.release(delivery.Claimed(rest, []))
                self.stderr.write(f"The mail server is unavailable ({error}).")
                return sent, left + len(rest)
        return sent, left

    def _post_webhooks(self, claimed: delivery.Claimed) -> tuple[int, int]:
        # Each squad has its own hook: one that is away says nothing of the others.
        posted = left = 0
        for pk in claimed.webhooks:
            try:
                posted += webhooks.post_delivery(pk)
            except OSError as error:
                delivery.release(delivery.Claimed([], [pk]))
                self.stderr.write(
                    f"Webhook delivery {pk} failed ({error}); the next run retries it."
                )
                left += 1
        return posted, left

    def _report_failures(self, claimed: delivery.Claimed) -> None:
        """What this run gave up, with the reasons recorded on the rows."""
        for pk, error in Notification.objects.filter(
            pk__in=claimed.emails, email=Notification.Email.FAILED
        ).values_list("pk", "email_error"):
            self.stderr.write(f"Email {pk} failed for good: {error}")
        for pk, error in WebhookDelivery.objects.filter(
            pk__in=claimed.webhooks, status=WebhookDelivery.Status.FAILED
        ).values_list("pk", "last_error"):
            self.stderr.write(f"Webhook delivery {pk} failed for good: {error}")
