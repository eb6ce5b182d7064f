"""Create a demo squad with one person per role, so a newcomer can log in and look around."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from planning.models import Project
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


class Command(BaseCommand):
    help = "Load the demo squad, people and project (safe to run again)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already has any user.",
        )

    def handle(self, *args, if_empty: bool = False, **options) -> None:
        User = get_user_model()
        if if_empty and User.objects.exists():
            self.stdout.write("The database already has users; demo data not loaded.")
        else:
            self._load(User)
            self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        if User.objects.filter(username="lead").exists():
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
            Project.objects.get_or_create(
                squad=squad,
                slug="card-vault",
                defaults={
                    "name": "Card Vault",
                    "summary": "Store card tokens with the new PCI-compliant vault provider.",
                    "tech_lead": people["lead"],
                    "principal_engineer": people["principal"],
                },
            )

    def _print_logins(self) -> None:
        self.stdout.write(f"Demo logins (password for each: {DEMO_PASSWORD}):")
        for username, full_name, role in DEMO_PEOPLE:
            what = Membership.Role(role).label if role else "not a squad member"
            if username == "principal":
                what = "principal engineer of Card Vault"
            elif username == "guest":
                what = "outside the squad; invited to reviews"
            self.stdout.write(f"  {username:<10} {full_name} — {what}")
