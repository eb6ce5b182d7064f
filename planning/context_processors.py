from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from notifications.models import Notification
from planning.models import DeferralRequest, Project, Unknown


def _count(queryset: QuerySet, by: str) -> Coalesce:
    # COUNT(*), not of a column: an index that holds the filter's columns answers it alone.
    counted = queryset.order_by().values(by).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _waiting_for(principal: OuterRef) -> QuerySet:
    """The unknowns of the principal engineer's projects with a deferral waiting for them.

    At most one deferral of an unknown waits (a unique constraint), so these count
    the deferrals. From the person's milestones to their unknowns' ids
    (`unknown_milestone_ids_idx`) and the pending deferrals' partial index
    (`one_pending_deferral_per_unknown`): indexes alone, rather than every
    pending deferral's row in the organisation.
    """
    pending = DeferralRequest.objects.filter(
        unknown=OuterRef("pk"), status=DeferralRequest.Status.PENDING
    )
    return Unknown.objects.filter(Exists(pending), milestone__project__principal_engineer=principal)


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
                _waiting_for(OuterRef("pk")), "milestone__project__principal_engineer"
            ),
            is_principal=Exists(Project.objects.filter(principal_engineer=OuterRef("pk"))),
        )
        .values("unread_count", "approvals_count", "is_principal")
        .get()
    )
