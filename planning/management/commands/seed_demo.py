"""Create the demo squads, their people and milestones in every phase, to log in and look around.

Everything goes through the same services as the pages, so the demo holds
only states that the product itself can reach. Months of past milestones
(`planning.demo_history`) are dated to the days they happened, so that the
insights pages have something to say on first run.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from planning import blocks, demo_history, services
from planning import demo_content as text
from planning.models import Milestone, Project, Unknown
from planning.workflow import ArtifactKind, ArtifactStatus, BreakoutMode, Phase
from squads.models import Membership, Squad

DEMO_PASSWORD = "squad-demo"

# username, full name, role in the squad (None: not a member)
DEMO_PEOPLE = [
    ("lead", "Lena Tech-Lead", Membership.Role.TECH_LEAD),
    ("eng1", "Ezra Engineer", Membership.Role.ENGINEER),
    ("eng2", "Noor Engineer", Membership.Role.ENGINEER),
    ("product", "Priya Product", Membership.Role.PRODUCT),
    ("principal", "Paul Principal", None),
    ("guest", "Gia Guest", None),
]
# The second squad breaks its stories out in a meeting, so that the principal engineer,
# who oversees a project of each, sees the two ways side by side.
CHECKOUT_PEOPLE = [
    ("eng2", Membership.Role.TECH_LEAD),
    ("eng1", Membership.Role.ENGINEER),
    ("product", Membership.Role.PRODUCT),
]


# What the tech lead adds to the refunds design spec during its review.
ROLLOUT_BEFORE = "5% → 50% → 100% over two weeks;"
ROLLOUT_AFTER = "5% → 50% → 100% over three weeks, a week per step, watching refusals;"

REFUND_RETRIES = """
## Refund retries
Each refund carries an idempotency key made from the refund's id, so a retry
after a timeout never refunds twice.
"""


def ago(days: float):
    return timezone.now() - timedelta(days=days)


class Command(BaseCommand):
    help = "Load the demo squad, people and project (safe to run again)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already has any user.",
        )
        # `make run` loads quietly and prints the logins last, once the server is up.
        logins = parser.add_mutually_exclusive_group()
        logins.add_argument(
            "--no-logins", action="store_true", help="Load without printing the demo logins."
        )
        logins.add_argument(
            "--logins-only", action="store_true", help="Only print the demo logins."
        )

    def handle(
        self,
        *args,
        if_empty: bool = False,
        no_logins: bool = False,
        logins_only: bool = False,
        **options,
    ) -> None:
        User = get_user_model()
        if logins_only:
            pass
        elif if_empty and User.objects.exists():
            self.stdout.write("The database already has users; demo data not loaded.")
        else:
            self._load(User)
            self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        if not no_logins and User.objects.filter(username="lead").exists():
            self._print_logins()

    def _load(self, User) -> None:
        with transaction.atomic():
            people = {}
            for username, full_name, _ in DEMO_PEOPLE:
                user, created = User.objects.get_or_create(
                    username=username,
                    defaults={"full_name": full_name, "email": f"{username}@example.com"},
                )
                if created:
                    user.set_password(DEMO_PASSWORD)
                    user.save(update_fields=["password"])
                people[username] = user

            squad, _ = Squad.objects.get_or_create(
                slug="payments",
                defaults={
                    "name": "Payments Squad",
                    "description": "Owns checkout, refunds and the payment provider integrations.",
                },
            )
            for username, _, role in DEMO_PEOPLE:
                if role is not None:
                    Membership.objects.get_or_create(
                        squad=squad, user=people[username], defaults={"role": role}
                    )
            project, _ = Project.objects.get_or_create(
                squad=squad,
                slug="card-vault",
                defaults={
                    "name": "Card Vault",
                    "summary": "Store card tokens with the new PCI-compliant vault provider.",
                    "tech_lead": people["lead"],
                    "principal_engineer": people["principal"],
                },
            )
            self.clock = demo_history.Clock()
            with self.clock.running():
                if not project.milestones.exists():
                    demo_history.play(
                        self._cast(people, "lead", ["eng1", "eng2"]),
                        project,
                        demo_history.PAYMENTS,
                    )
                    self._milestones(project, people)
                self.clock.moment = None
                self._checkout(people)

    def _cast(self, people: dict, lead: str, engineers: list[str]) -> demo_history.Cast:
        return demo_history.Cast(
            lead=people[lead],
            engineers=[people[name] for name in engineers],
            product=people["product"],
            principal=people["principal"],
        )

    def _checkout(self, people: dict) -> None:
        squad, _ = Squad.objects.get_or_create(
            slug="checkout",
            defaults={
                "name": "Checkout Squad",
                "description": "Owns the checkout pages and the ways to pay in them.",
                "breakout_mode": BreakoutMode.MEETING,
            },
        )
        for username, role in CHECKOUT_PEOPLE:
            Membership.objects.get_or_create(
                squad=squad, user=people[username], defaults={"role": role}
            )
        project, _ = Project.objects.get_or_create(
            squad=squad,
            slug="checkout-api",
            defaults={
                "name": "Checkout API",
                "summary": "The API the checkout pages and the mobile apps call.",
                "tech_lead": people["eng2"],
                "principal_engineer": people["principal"],
            },
        )
        if not project.milestones.exists():
            demo_history.play(self._cast(people, "eng2", ["eng1"]), project, demo_history.CHECKOUT)

    def _unknowns(self, milestone: Milestone, people: dict) -> None:
        lead, eng1, eng2, principal = (
            people["lead"],
            people["eng1"],
            people["eng2"],
            people["principal"],
        )
        today = timezone.localdate()

        self.clock.at(ago(9))

        def add(title: str, priority: str, owner, **fields) -> Unknown:
            return services.add_unknown(
                lead, milestone, title=title, priority=priority, owner=owner, **fields
            )

        amex = add(
            "Does the vault issue network tokens for Amex cards?",
            Unknown.Priority.BLOCKER,
            eng1,
            vendor="VaultCo",
            due_on=today + timedelta(days=5),
            detail="Amex is 12% of our volume. Without network tokens we keep a PAN fallback.",
        )
        services.update_unknown(
            eng1,
            amex,
            status=Unknown.Status.WAITING_ON_VENDOR,
            vendor_contacted_on=today - timedelta(days=3),
        )
        services.comment_on_unknown(
            eng1, amex, "Asked our VaultCo account manager; they promised an answer this week."
        )
        self.clock.at(ago(8))
        scope = add("Is the browser SDK in our PCI scope?", Unknown.Priority.HIGH, eng2)
        self.clock.at(ago(6))
        services.resolve_unknown(
            eng2, scope, "No: the SDK posts card data straight to VaultCo (SAQ A-EP confirmed)."
        )
        retries = add("Retry budget for detokenise calls", Unknown.Priority.NORMAL, eng2)
        services.update_unknown(eng2, retries, status=Unknown.Status.INVESTIGATING)
        self.clock.at(ago(4))
        art = add("Card art in email receipts", Unknown.Priority.LOW, people["product"])
        services.request_deferral(
            lead, art, reason="Receipts keep showing the brand name until then.", defer_until="M3"
        )
        sandbox = add("Rate limits of the provider sandbox", Unknown.Priority.NORMAL, eng1)
        deferral = services.request_deferral(
            lead, sandbox, reason="Load tests run in the next milestone.", defer_until="M2"
        )
        services.decide_deferral(principal, deferral, decision="approve", note="Fine for now.")
        self.clock.at(ago(1))
        add("Who rotates the provider API keys?", Unknown.Priority.HIGH, None)

    def _reviewed(self, project: Project, people: dict, write, ready, advance) -> None:
        """One milestone in design review with comments and verdicts, one that reached done."""
        lead, eng1, eng2, principal = (
            people["lead"],
            people["eng1"],
            people["eng2"],
            people["principal"],
        )
        now = timezone.now()

        def through_unknowns(title: str, goal: str, days: list[float]) -> Milestone:
            """Created `days[0]` days ago, moved on to each next phase on the following days."""
            on = iter(days)
            self.clock.at(ago(next(on)))
            milestone = services.create_milestone(lead, project, title=title, goal=goal)
            write(milestone, ArtifactKind.SYSTEM_ARCHITECTURE, text.WEBHOOK_SYSTEM, lead)
            write(milestone, ArtifactKind.APPLICATION_ARCHITECTURE, text.WEBHOOK_APPLICATION, eng1)
            ready(
                milestone, ArtifactKind.SYSTEM_ARCHITECTURE, ArtifactKind.APPLICATION_ARCHITECTURE
            )
            self.clock.at(ago(next(on)))
            milestone = advance(milestone, Phase.PROTOCOLS)
            write(milestone, ArtifactKind.PROTOCOL_SPECS, text.PROTOCOL_SPECS, lead)
            ready(milestone, ArtifactKind.PROTOCOL_SPECS)
            for kind in (
                ArtifactKind.INFRASTRUCTURE_DIAGRAM,
                ArtifactKind.SEQUENCE_DIAGRAM,
                ArtifactKind.FLOW_CHART,
            ):
                services.decide_artifact_need(
                    lead,
                    milestone.artifacts.get(kind=kind),
                    needed=False,
                    reason="Not needed here.",
                )
            self.clock.at(ago(next(on)))
            milestone = advance(milestone, Phase.DESIGN_SPEC)
            write(milestone, ArtifactKind.DESIGN_SPEC, text.DESIGN_SPEC, lead)
            ready(milestone, ArtifactKind.DESIGN_SPEC)
            self.clock.at(ago(next(on)))
            milestone = advance(milestone, Phase.UNKNOWNS)
            unknown = services.add_unknown(
                lead, milestone, title="Refund window of the processor", priority="high", owner=eng2
            )
            services.resolve_unknown(eng2, unknown, "180 days, confirmed in the processor's docs.")
            self.clock.at(ago(next(on)))
            return advance(milestone, Phase.DESIGN_REVIEW)

        review_milestone = through_unknowns(
            "Refunds to saved cards",
            "Refund to the token the customer paid with.",
            [24, 19, 16, 11, 7],
        )
        self.clock.at(ago(1))
        review = services.schedule_review(
            lead,
            review_milestone,
            scheduled_for=now + timedelta(hours=2),
            location="Room Ada / meet.example.com/refunds",
        )
        services.invite_guest(lead, review, people["guest"])
        self.clock.at(ago(0.1))
        services.open_review(lead, review)
        comment = services.add_comment(
            eng1,
            review,
            body="Do we refund partial captures to the same token?",
            artifact_kind=ArtifactKind.PROTOCOL_SPECS,
        )
        services.add_comment(lead, review, body="Yes, up to the captured amount.", parent=comment)
        services.add_comment(
            people["guest"],
            review,
            body="From support: please show the refund reference in the receipt.",
        )
        services.set_verdict(eng1, review, "approve", "Clear.")
        services.set_verdict(
            eng2, review, "changes_requested", "The retry policy for refunds is missing."
        )
        services.add_comment(
            eng2,
            review,
            body="A processor timeout followed by a retry can refund twice: "
            "the refund call needs an idempotency key.",
            artifact_kind=ArtifactKind.DESIGN_SPEC,
            blocking=True,
        )
        services.set_verdict(people["guest"], review, "comment")
        # Comments on two blocks of the spec: the rollout paragraph is rewritten below, so
        # the comment on it turns outdated; the data model stays, and its comment follows it.
        spec_blocks = {b.source.split()[0]: b.index for b in blocks.split_blocks(text.DESIGN_SPEC)}
        services.add_comment(
            eng1,
            review,
            body="Two weeks feels short for three steps: what do we watch before 100%?",
            artifact_kind=ArtifactKind.DESIGN_SPEC,
            anchor_block=spec_blocks["Behind"],
        )
        services.add_comment(
            eng2,
            review,
            body="Is the column dropped on a date, or when the migration milestone is done?",
            artifact_kind=ArtifactKind.DESIGN_SPEC,
            anchor_block=spec_blocks["`payment_method.token`"],
        )
        # The spec answers the blocking comment and the rollout question after Eli approved:
        # that approval is now stale.
        rewritten = text.DESIGN_SPEC.replace(ROLLOUT_BEFORE, ROLLOUT_AFTER)
        write(review_milestone, ArtifactKind.DESIGN_SPEC, rewritten + REFUND_RETRIES, lead)

        done = through_unknowns(
            "Card expiry reminders",
            "Tell customers before their saved card expires.",
            [34, 30, 27, 21, 9],
        )
        self.clock.at(ago(7))
        review = services.schedule_review(lead, done, scheduled_for=now - timedelta(days=6))
        self.clock.at(ago(6))
        services.open_review(lead, review)
        blocker = services.add_comment(
            eng1,
            review,
            body="The reminder email must not show the card's last four digits.",
            artifact_kind=ArtifactKind.DESIGN_SPEC,
            blocking=True,
        )
        services.add_comment(lead, review, body="Agreed: brand and expiry only.", parent=blocker)
        services.set_comment_resolved(eng1, blocker, True)
        objection = services.add_comment(
            eng2,
            review,
            body="We should wait for the network updater instead of emailing at all.",
            blocking=True,
        )
        services.overrule_comment(
            principal,
            objection,
            "The updater covers only 60% of our cards; the email covers the rest.",
        )
        services.set_verdict(eng1, review, "approve")
        services.set_verdict(
            principal,
            review,
            "approve_with_conditions",
            "Good to go, on one condition.",
            ["Measure the reminder emails' bounce rate in the first week"],
        )
        services.close_review(lead, review, "approved")
        done = advance(done, Phase.KICKOFF)
        self.clock.at(ago(5))
        services.schedule_kickoff(
            lead, done, scheduled_for=now - timedelta(days=5), location="Room Ada"
        )
        concern = services.raise_concern(
            people["product"], done, kind="question", text="Do we email or push-notify?"
        )
        services.answer_concern(lead, concern, "Email first; push in the app milestone.")
        services.hold_kickoff(lead, done)
        self.clock.at(ago(4.5))
        done = advance(done, Phase.TASK_BREAKOUT)
        self.clock.at(ago(4))
        story = services.add_story(eng1, done, title="Nightly job finds cards expiring in 30 days")
        services.claim_story(eng1, story)
        services.add_subtask(eng1, story, title="Query and batch", assignee=eng1)
        services.add_subtask(eng1, story, title="Email template", assignee=eng2)
        self.clock.at(ago(2.5))
        condition = done.unknowns.get(from_verdict__isnull=False)
        services.resolve_unknown(lead, condition, "1.2% bounced in the first week; within target.")
        self.clock.at(ago(2))
        advance(done, Phase.DONE)

    def _milestones(self, project: Project, people: dict) -> None:
        lead, eng = people["lead"], people["eng1"]

        def write(milestone: Milestone, kind: str, body: str, author) -> None:
            artifact = milestone.artifacts.get(kind=kind)
            services.save_artifact_body(
                author, artifact, body=body, base_revision=artifact.revision
            )

        def ready(milestone: Milestone, *kinds: str) -> None:
            for kind in kinds:
                services.mark_artifact(
                    lead, milestone.artifacts.get(kind=kind), ArtifactStatus.READY
                )

        def advance(milestone: Milestone, to: str) -> Milestone:
            return services.advance_phase(lead, milestone, to=to)

        self.clock.at(ago(26))
        vault = services.create_milestone(
            lead,
            project,
            title="Tokenise cards at checkout",
            goal="Checkout sends card details to the vault provider; we keep only tokens.",
        )
        write(vault, ArtifactKind.SYSTEM_ARCHITECTURE, text.SYSTEM_ARCHITECTURE, lead)
        write(vault, ArtifactKind.APPLICATION_ARCHITECTURE, text.APPLICATION_ARCHITECTURE, eng)
        self.clock.at(ago(21))
        ready(vault, ArtifactKind.SYSTEM_ARCHITECTURE, ArtifactKind.APPLICATION_ARCHITECTURE)
        vault = advance(vault, Phase.PROTOCOLS)
        write(vault, ArtifactKind.PROTOCOL_SPECS, text.PROTOCOL_SPECS, lead)
        ready(vault, ArtifactKind.PROTOCOL_SPECS)
        for kind, reason in [
            (ArtifactKind.INFRASTRUCTURE_DIAGRAM, "No new infrastructure: the provider is SaaS."),
            (ArtifactKind.FLOW_CHART, "The charge logic has no new branches."),
        ]:
            services.decide_artifact_need(
                lead, vault.artifacts.get(kind=kind), needed=False, reason=reason
            )
        services.decide_artifact_need(
            lead, vault.artifacts.get(kind=ArtifactKind.SEQUENCE_DIAGRAM), needed=True
        )
        self.clock.at(ago(15))
        vault = advance(vault, Phase.DESIGN_SPEC)
        write(vault, ArtifactKind.SEQUENCE_DIAGRAM, text.SEQUENCE_DIAGRAM, eng)
        write(vault, ArtifactKind.DESIGN_SPEC, text.DESIGN_SPEC, lead)
        ready(vault, ArtifactKind.SEQUENCE_DIAGRAM, ArtifactKind.DESIGN_SPEC)
        self.clock.at(ago(10))
        vault = advance(vault, Phase.UNKNOWNS)
        self._unknowns(vault, people)

        self.clock.at(ago(12))
        webhooks = services.create_milestone(
            lead,
            project,
            title="Card updates from the network",
            goal="Apply new expiry dates and tokens pushed by the card networks.",
        )
        write(webhooks, ArtifactKind.SYSTEM_ARCHITECTURE, text.WEBHOOK_SYSTEM, lead)
        write(webhooks, ArtifactKind.APPLICATION_ARCHITECTURE, text.WEBHOOK_APPLICATION, eng)
        ready(webhooks, ArtifactKind.SYSTEM_ARCHITECTURE, ArtifactKind.APPLICATION_ARCHITECTURE)
        self.clock.at(ago(5))
        webhooks = advance(webhooks, Phase.PROTOCOLS)
        write(webhooks, ArtifactKind.PROTOCOL_SPECS, text.WEBHOOK_PROTOCOL_DRAFT, eng)

        self._reviewed(project, people, write, ready, advance)

        self.clock.at(ago(3))
        wallet = services.create_milestone(
            lead, project, title="Saved cards in the wallet", goal="Show and manage saved cards."
        )
        write(wallet, ArtifactKind.SYSTEM_ARCHITECTURE, text.WALLET_SYSTEM_DRAFT, lead)

    def _print_logins(self) -> None:
        self.stdout.write(f"Demo logins (password for each: {DEMO_PASSWORD}):")
        for username, full_name, role in DEMO_PEOPLE:
            what = Membership.Role(role).label if role else "not a squad member"
            if username == "eng2":
                what = "Engineer; tech lead of the Checkout Squad"
            elif username == "principal":
                what = "principal engineer of Card Vault and Checkout API"
            elif username == "guest":
                what = "outside the squad; invited to reviews"
            self.stdout.write(f"  {username:<10} {full_name} — {what}")
