"""The port every store platform client implements, and the errors it raises."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from shared.stores.records import Entity, OrderLineRecord, Record, ShopInfo, VariantRecord


class PlatformError(Exception):
    """The platform answered, but not with what we asked for (a bug or an unexpected shape)."""


class InvalidCredentials(PlatformError):
    """401/403 from the platform: the token or keys are wrong, revoked or lack a scope."""


class PlatformUnavailable(PlatformError):
    """Could not reach the platform, or it kept failing (5xx, resets) after the client's own retries."""


@dataclass
class ThrottleReport:
    """What pacing cost so far: how often the client waited for the platform's limits, and how long."""

    waits: int = 0
    waited_seconds: float = 0.0
    rejected: int = 0  # requests the platform refused as throttled (should stay near zero)


@dataclass(frozen=True)
class FetchedPage:
    records: Sequence[Record]
    next_cursor: str | None  # None when this was the last page
    max_updated_at: datetime | None  # the newest updated_at among the records (the watermark candidate)


BulkState = Literal["running", "completed", "failed"]
# One line of an export: (parent external id, item). Parents come with their parent id None and no nested
# connection children; each child (variant, order line) comes later with its parent's external id, so the
# stream can be stored in chunks with flat memory. Order parents carry their complete `refunds` (Shopify
# refuses refund lines inside a bulk query, so the client reads them beside the stream): store them.
BulkItem = tuple[str | None, Record | VariantRecord | OrderLineRecord]


@dataclass(frozen=True)
class BulkStatus:
    state: BulkState
    url: str | None = None  # None for a completed export that found nothing
    object_count: int = 0
    root_object_count: int = 0
    error: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


class StoreClient(Protocol):
    """A connected store's API, blocking (activities run in worker threads)."""

    throttle: ThrottleReport

    def verify(self) -> ShopInfo:
        """One real call that proves the credentials and reads the shop's name, currency and time zone."""
        ...

    def fetch_page(self, entity: Entity, *, updated_since: datetime | None, cursor: str | None,
                   page_size: int) -> FetchedPage:
        """One page of `entity`, oldest update first, from `cursor` (None = the first page)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class WebhookSubscription:
    """One of our subscriptions at the platform: a Shopify WebhookSubscription GID or a Woo webhook id."""

    topic: str
    subscription_id: str
    created: bool  # False: it already delivered to our address and registration adopted it


@runtime_checkable
class WebhookRegistrar(Protocol):
    """A client that can subscribe the store's webhooks and remove them (optional: check with isinstance)."""

    def register_webhooks(self, callback_base: str, topics: list[str],
                          secret: str | None) -> list[WebhookSubscription]:
        """Subscribe `topics` to deliver to the URL `callback_base` (the full delivery URL of this store's
        platform route); a topic already subscribed to it keeps (adopts) that subscription. Returns one
        subscription per topic. `secret` signs deliveries where the platform takes one per subscription
        (WooCommerce)."""
        ...

    def delete_webhook(self, subscription_id: str) -> bool:
        """Remove one subscription: True when deleted, False when the platform no longer has it.

        Raises InvalidCredentials (e.g. the merchant removed the app or the keys), PlatformUnavailable, or
        PlatformError for any other refusal."""
        ...


class BulkStoreClient(StoreClient, Protocol):
    """A platform that can export a whole entity as a file (Shopify bulk operations)."""

    def start_bulk(self, entity: Entity, *, updated_since: datetime | None) -> str:
        """Start an export; returns its id. Waits and retries while another export is running."""
        ...

    def bulk_status(self, operation_id: str) -> BulkStatus: ...

    def iter_bulk(self, url: str, entity: Entity) -> Iterator[BulkItem]:
        """Stream the export's items (children tied to parents by __parentId), without loading the file."""
        ...
