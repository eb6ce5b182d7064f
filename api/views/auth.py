"""Trading a username and password for an API token."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from api.schema import answers
from api.serializers.base import Input
from api.views.base import ApiView, valid


class TokenRequest(Input):
    username = serializers.CharField(max_length=150)  # as long as a username may be
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class ObtainToken(ApiView):
    """Trade a username and password for the token that authenticates API calls."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(
        request=TokenRequest,
        responses=answers(
            {200: inline_serializer("TokenResponse", {"token": serializers.CharField()})}, 400, 429
        ),
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = valid(TokenRequest, request.data)
        # The plain request: the login throttle (django-axes) marks it when it refuses.
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if user is None or not user.is_active:
            return Response(
                {"detail": "Unable to log in with these credentials."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
