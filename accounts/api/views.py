from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from .serializers import LogoutSerializer


class Logout(APIView):
    """End one sign-in: the refresh token is blacklisted (its access tokens expire within minutes)."""

    @extend_schema(
        request=LogoutSerializer,
        responses={205: OpenApiResponse(description="Signed out"), 400: OpenApiResponse(description="Bad token")},
    )
    def post(self, request):
        body = LogoutSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        body.token.blacklist()
        return Response(status=status.HTTP_205_RESET_CONTENT)
