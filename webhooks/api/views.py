"""The webhook endpoints: register, list, read, delete, and read an endpoint's deliveries."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from api.authentication import request_api_key
from api.schema import error_responses
from webhooks.api.serializers import (
    WebhookCreatedSerializer,
    WebhookCreateInputSerializer,
    WebhookDeliverySerializer,
    WebhookSerializer,
)
from webhooks.models import WebhookEndpoint
from webhooks.selectors import webhook_deliveries, webhook_endpoints_visible
from webhooks.services import WebhookInvalid, webhook_endpoint_create, webhook_endpoint_delete

UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class WebhookViewSet(viewsets.GenericViewSet):
    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookSerializer
    lookup_value_regex = UUID_PATTERN
    session_permissions = {
        "list": ("webhooks.view_webhookendpoint",),
        "retrieve": ("webhooks.view_webhookendpoint",),
        "deliveries": ("webhooks.view_webhookendpoint", "webhooks.view_webhookdelivery"),
        "create": ("webhooks.add_webhookendpoint",),
        "destroy": ("webhooks.delete_webhookendpoint",),
    }

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        # Another key's endpoint is a 404, as another key's course is.
        return webhook_endpoints_visible(api_key=request_api_key(self.request))

    def get_object(self) -> WebhookEndpoint:
        try:
            return super().get_object()
        except Http404:
            raise NotFound(f"No webhook with id {self.kwargs['pk']}.") from None

    @extend_schema(
        operation_id="webhooks_create",
        summary="Register a webhook endpoint (its signing secret is shown once)",
        request=WebhookCreateInputSerializer,
        responses={201: WebhookCreatedSerializer, **error_responses(400, 413, 415)},
    )
    def create(self, request: Request) -> Response:
        serializer = WebhookCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            endpoint = webhook_endpoint_create(
                url=serializer.validated_data["url"],
                events=serializer.validated_data["events"],
                api_key=request_api_key(request),
            )
        except WebhookInvalid as exc:
            raise ValidationError(exc.errors) from None
        return Response(WebhookCreatedSerializer(endpoint).data, status=201)

    @extend_schema(
        operation_id="webhooks_list",
        summary="List webhook endpoints",
        responses={200: WebhookSerializer(many=True), **error_responses(400)},
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset().order_by("-created_at", "id"))
        return self.get_paginated_response(WebhookSerializer(page, many=True).data)

    @extend_schema(
        operation_id="webhooks_retrieve",
        summary="A webhook endpoint",
        responses={200: WebhookSerializer, **error_responses(404)},
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(WebhookSerializer(self.get_object()).data)

    @extend_schema(
        operation_id="webhooks_destroy",
        summary="Delete a webhook endpoint; its deliveries stop",
        responses={204: None, **error_responses(404)},
    )
    def destroy(self, request: Request, pk: str) -> Response:
        webhook_endpoint_delete(endpoint=self.get_object())
        return Response(status=204)

    @extend_schema(
        operation_id="webhooks_deliveries",
        summary="An endpoint's deliveries, newest first, each with its attempts",
        responses={200: WebhookDeliverySerializer(many=True), **error_responses(400, 404)},
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str) -> Response:
        page = self.paginate_queryset(webhook_deliveries(endpoint=self.get_object()))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)
