import factory
from django.contrib.auth import get_user_model

from planning.models import Project
from squads.models import Membership, Squad

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Faker("name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class SquadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Squad

    name = factory.Sequence(lambda n: f"Squad {n}")
    slug = factory.Sequence(lambda n: f"squad-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    squad = factory.SubFactory(SquadFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.ENGINEER


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    squad = factory.SubFactory(SquadFactory)
    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")
    tech_lead = factory.SubFactory(UserFactory)
