from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from config.http import AuthenticatedRequest
from config.inputs import safe_next
from notifications.models import Notification
from notifications.services import mark_all_read, mark_read


@login_required
def inbox(request: AuthenticatedRequest) -> HttpResponse:
    mine = Notification.objects.filter(recipient=request.user).order_by("-created_at", "-id")
    only_unread = request.GET.get("unread") == "1"
    if only_unread:
        mine = mine.filter(read_at__isnull=True)
    page = Paginator(mine, 30).get_page(request.GET.get("page"))
    return render(request, "planning/inbox.html", {"page": page, "only_unread": only_unread})


@login_required
def notification_open(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Follow a notification's link, marking it read on the way."""
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    mark_read(request.user, notification.pk)
    link = safe_next(request, notification.link)
    if link:
        return HttpResponseRedirect(link)
    return redirect("planning:inbox")


@login_required
@require_POST
def notification_read(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    get_object_or_404(Notification, pk=pk, recipient=request.user)
    mark_read(request.user, pk)
    return redirect("planning:inbox")


@login_required
@require_POST
def notifications_read_all(request: AuthenticatedRequest) -> HttpResponse:
    mark_all_read(request.user)
    return redirect("planning:inbox")
