from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from notifications.models import Notification
from planning.models import DeferralRequest, Project


def _count(queryset: QuerySet, by: str) -> Coalesce:
    counted = queryset.order_by().values(by).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def navigation(request: HttpRequest) -> dict:
    """What the navigation bar shows: unread notifications and deferrals awaiting me, in one query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(
            unread_count=_count(
                Notification.objects.filter(recipient=OuterRef("pk"), read_at__isnull=True),
                "recipient",
            ),
            approvals_count=_count(
                DeferralRequest.objects.filter(
                    status=DeferralRequest.Status.PENDING,
                    unknown__milestone__project__principal_engineer=OuterRef("pk"),
                ),
                "status",
            ),
            is_principal=Exists(Project.objects.filter(principal_engineer=OuterRef("pk"))),
        )
        .values("unread_count", "approvals_count", "is_principal")
        .get()
    )
