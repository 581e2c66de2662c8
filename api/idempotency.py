"""``Idempotency-Key`` for POSTs: a repeated request gets the first response and does nothing new.

The record is inserted in the same transaction as the work it guards and holds the response when
that transaction commits. A concurrent request with the same key therefore waits on the unique
index until the first one finishes, then replays its response; if the first one failed (any
non-2xx answer, any exception) nothing was kept, and the next attempt really runs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from api.authentication import request_owner
from api.exceptions import Conflict, UnprocessableEntity
from api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
KEPT_HEADERS = ("Location",)


class _NotKept(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


class _Taken(Exception):
    pass


def request_fingerprint(request: Request) -> str:
    """sha256 of the method, the path and the JSON body, keys sorted (whitespace is no change)."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent(action: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate a view(set) method that creates something and answers 2xx when it did."""

    @functools.wraps(action)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return action(view, request, *args, **kwargs)
        if not KEY_PATTERN.match(key):
            raise exceptions.ValidationError(
                {HEADER: ["Give 1 to 255 visible ASCII characters (no spaces)."]}
            )
        return idempotent_call(
            owner=request_owner(request),
            key=key,
            fingerprint=request_fingerprint(request),
            request=request,
            call=lambda: action(view, request, *args, **kwargs),
        )

    return wrapper


def idempotent_call(
    *, owner: str, key: str, fingerprint: str, request: Request, call: Callable[[], Response]
) -> Response:
    cutoff = timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_TTL_HOURS)
    record = _find(owner, key, cutoff)
    if record is not None:
        return _replay(record, fingerprint)
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        owner=owner,
                        key=key,
                        fingerprint=fingerprint,
                        method=request.method or "",
                        path=request.path[:500],
                    )
            except IntegrityError:
                raise _Taken from None
            response = call()
            if not 200 <= response.status_code < 300:
                raise _NotKept(response)  # roll back: the same key may be tried again
            record.response_status = response.status_code
            record.response_body = json.loads(JSONRenderer().render(response.data) or b"null")
            record.response_headers = {h: response[h] for h in KEPT_HEADERS if h in response}
            record.save(update_fields=["response_status", "response_body", "response_headers"])
    except _NotKept as exc:
        return exc.response
    except _Taken:
        record = _find(owner, key, cutoff)
        if record is None:  # SQLite only: the first request has not committed yet
            raise Conflict(f"A request with this {HEADER} is in progress; retry.") from None
        return _replay(record, fingerprint)
    return response


def _find(owner: str, key: str, cutoff: Any) -> IdempotencyRecord | None:
    record = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
    if record is not None and record.created_at < cutoff:
        # Expired: forget it (and this client's other expired keys), so the key can be reused.
        IdempotencyRecord.objects.filter(owner=owner, created_at__lt=cutoff).delete()
        return None
    return record


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise UnprocessableEntity(
            f"This {HEADER} was already used with a different request "
            f"({record.method} {record.path}, another body); use a new key for a new request."
        )
    return Response(
        record.response_body,
        status=record.response_status,
        headers={**record.response_headers, REPLAYED_HEADER: "true"},
    )
