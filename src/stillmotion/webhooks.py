"""Webhooks: each status change of a job with a `callback_url` is POSTed there as a signed JSON event.

Every status change writes its event into the outbox (`jobs.outbox`) in the transaction that makes it, so nothing
is lost when a process dies between a status change and its delivery. A dispatcher thread, separate from the
workers, finds owed events, holds each for the length of one attempt (so that dispatchers in other processes
skip it), sends it through the same URL guard as image fetches (checked and pinned addresses, no redirects), and
records the outcome: delivered, or retried later with exponential backoff, up to `max_attempts` per event. A
job's events go out in order, each status once; a body describes the job at that status. Delivery is at least
once; receivers deduplicate on the `Stillmotion-Event-Id` header.

Each event is signed per Standard Webhooks (the convention OpenAI's webhooks follow), so that receivers verify it
with the `standardwebhooks` package or the OpenAI SDK's `client.webhooks.unwrap()`: `webhook-id` (the event's id,
the same on every retry), `webhook-timestamp` (unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of
"<id>.<timestamp>.<body>">`, keyed by the webhook secret: `STILLMOTION_WEBHOOK_SECRET` in `whsec_<base64 key>` form,
else the one generated once into `<data-dir>/webhook.key` (in that form too). For one release the earlier headers
go along: `Stillmotion-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the same key, and
`Stillmotion-Event-Id`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from stillmotion.config import WEBHOOK_SECRET_PREFIX, webhook_key
from stillmotion.core import Core
from stillmotion.domain import InvalidInput, Job, JobStatus
from stillmotion.jobs import WebhookDue
from stillmotion.logs import log_context
from stillmotion.storage.signing import write_private

log = logging.getLogger("stillmotion.webhooks")

# Standard Webhooks' headers.
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = WEBHOOK_SECRET_PREFIX
# The earlier headers, sent beside them for one release.
SIGNATURE_HEADER = "Stillmotion-Signature"
EVENT_ID_HEADER = "Stillmotion-Event-Id"

# A dialect's webhook body for a job (its poll answer, as that dialect words it).
EventRenderer = Callable[[Job, Core], dict[str, Any]]


def sign(secret: bytes, body: bytes, *, timestamp: int) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: bytes, body: bytes, header: str, *, tolerance_s: float = 300.0, now: float | None = None) -> bool:
    """True if `header` is a valid signature of `body` made within `tolerance_s` (a receiver's check)."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp=timestamp).split(",v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


def standard_signature(key: bytes, body: bytes, *, message_id: str, timestamp: int) -> str:
    """Standard Webhooks' `webhook-signature` value: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify_standard(
    secret: str, body: bytes, headers: Mapping[str, str], *, tolerance_s: float = 300.0, now: float | None = None
) -> bool:
    """True if `headers` (any case) carry a valid Standard Webhooks signature of `body` made within `tolerance_s`,
    by `secret` (`whsec_...`): a receiver's check, as the `standardwebhooks` package makes it."""
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        message_id, timestamp = lowered[ID_HEADER], int(lowered[TIMESTAMP_HEADER])
        key = key_from_secret(secret)
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = standard_signature(key, body, message_id=message_id, timestamp=timestamp)
    return any(hmac.compare_digest(expected, given) for given in lowered.get(STANDARD_SIGNATURE_HEADER, "").split())


def key_from_secret(secret: str) -> bytes:
    """The HMAC key of a webhook secret (`config.webhook_key`). A secret in the earlier form (any other text than
    `whsec_...`) is its own bytes, as it was, with a warning: it keeps working for one release."""
    if not secret.strip().startswith(SECRET_PREFIX):
        log.warning(
            "STILLMOTION_WEBHOOK_SECRET is not in whsec_ form; it is used as it is for one more release: set it to "
            "%s<base64 of the key> (the key is the same: whsec_ plus the base64 of the text you have now)",
            SECRET_PREFIX,
        )
    return webhook_key(secret)


def load_or_create_webhook_key(path: Path) -> bytes:
    """The webhook key kept at `path` in `whsec_` form, created (mode 0600) on first use; a key file written by
    an earlier release (hex text, used as its own bytes) is rewritten in `whsec_` form with the same key, so that
    signatures do not change."""
    if not path.is_file():
        key = secrets.token_bytes(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        if write_private(path, secret_text(key).encode()):
            return key
        # another process wrote it first: its key is the one
    text = path.read_text().strip()
    if text.startswith(SECRET_PREFIX):
        return key_from_secret(text)
    key = text.encode()
    write_private(path, secret_text(key).encode(), replace=True)
    log.info("converted %s to whsec_ form (the key is unchanged)", path)
    return key


def secret_text(key: bytes) -> str:
    """`key` as a Standard Webhooks secret: `whsec_<base64>`."""
    return SECRET_PREFIX + base64.b64encode(key).decode()


class WebhookDispatcher:
    def __init__(
        self,
        core: Core,
        renderers: Mapping[str, EventRenderer],
        *,
        secret: bytes,
        max_attempts: int = 8,
        first_retry_s: float = 2.0,
        max_retry_s: float = 600.0,
        timeout_s: float = 10.0,
        poll_interval_s: float = 0.5,
        concurrency: int = 4,
    ) -> None:
        self.core = core
        self.renderers = dict(renderers)
        self.secret = secret
        self.max_attempts = max_attempts
        self.first_retry_s = first_retry_s
        self.max_retry_s = max_retry_s
        self.timeout_s = timeout_s
        self.poll_interval_s = poll_interval_s
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="webhook")

    def run(self, stop: threading.Event) -> None:
        """Deliver owed events until `stop` is set."""
        try:
            while not stop.is_set():
                try:
                    sent = self.run_once()
                except Exception:
                    log.exception("webhook dispatcher: unexpected error; continuing")
                    sent = 0
                if not sent:
                    stop.wait(self.poll_interval_s)
        finally:
            self._pool.shutdown(wait=True)

    def run_once(self) -> int:
        """Attempt every event owed right now, in parallel; return how many attempts were made."""
        due = [item for item in self.core.store.webhooks.due(limit=50) if self._claim(item)]
        list(self._pool.map(self._deliver, due))
        return len(due)

    def _claim(self, item: WebhookDue) -> bool:
        return self.core.store.webhooks.claim(item.event_id, hold_s=self.timeout_s + 5.0)

    def _deliver(self, item: WebhookDue) -> None:
        # Log lines about this delivery carry the job's id and the id of the request that created it.
        with log_context(request_id=item.job.request_id, job_id=item.job.id):
            self._deliver_in_context(item)

    def _deliver_in_context(self, item: WebhookDue) -> None:
        job, status = item.job, item.status
        outbox = self.core.store.webhooks
        try:
            body = self._body(_as_of(job, status))
        except Exception as exc:  # a bug in a renderer must not stop other deliveries
            log.exception("webhook for job %s: could not build the event", job.id)
            outbox.failed(item.event_id, error=f"could not build the event: {exc}", retry_at=None)
            return
        assert job.callback_url is not None
        timestamp = int(time.time())
        message_id = f"{job.id}:{status.value}"  # the same on every retry: receivers deduplicate on it
        headers = {
            "Content-Type": "application/json",
            ID_HEADER: message_id,
            TIMESTAMP_HEADER: str(timestamp),
            STANDARD_SIGNATURE_HEADER: standard_signature(
                self.secret, body, message_id=message_id, timestamp=timestamp
            ),
            SIGNATURE_HEADER: sign(self.secret, body, timestamp=timestamp),
            EVENT_ID_HEADER: message_id,
        }
        try:
            answer, _ = self.core.fetcher.post(
                job.callback_url, body, headers=headers, field="callback_url", timeout_s=self.timeout_s
            )
            error = None if 200 <= answer < 300 else f"HTTP {answer}"
        except InvalidInput as exc:
            error = exc.rule
        if error is None:
            outbox.delivered(item.event_id)
            log.info("webhook for job %s (%s) delivered", job.id, status.value)
            return
        attempts = item.attempts + 1
        if attempts >= self.max_attempts:
            outbox.failed(item.event_id, error=error, retry_at=None)
            log.warning("webhook for job %s (%s): gave up after %d attempts: %s", job.id, status.value, attempts, error)
            return
        delay = min(self.max_retry_s, self.first_retry_s * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2)
        outbox.failed(item.event_id, error=error, retry_at=time.time() + delay)
        log.info(
            "webhook for job %s (%s): attempt %d failed (%s); next in %.1f s",
            job.id,
            status.value,
            attempts,
            error,
            delay,
        )

    def _body(self, job: Job) -> bytes:
        renderer = self.renderers[job.dialect]
        return json.dumps(renderer(job, self.core), separators=(",", ":")).encode()


def _as_of(job: Job, status: JobStatus) -> Job:
    """`job` as it stood at `status`: an event owed for a status the job has since left (it was `running` and
    has finished) describes that status, without the outcome that came later."""
    if job.status is status or (job.status is JobStatus.EXPIRED and status is JobStatus.SUCCEEDED):
        return job
    return replace(job, status=status, media_key=None, error_code=None, error_message=None, result={}, finished_at=None)
