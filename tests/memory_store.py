"""An in-memory StoreClient (a fake of our own port) for orchestration tests: pages, gates and faults."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shared.stores.connections import StoreConnection
from shared.stores.platform import BulkItem, BulkStatus, FetchedPage, ThrottleReport
from shared.stores.records import (
    CustomerRecord,
    Entity,
    OrderLineRecord,
    OrderRecord,
    ProductRecord,
    Record,
    ShopInfo,
    VariantRecord,
)

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def make_catalog(products: int = 12, customers: int = 15, orders: int = 30) -> dict[str, list[Record]]:
    prods: list[Record] = [
        ProductRecord(external_id=f"P{i}", title=f"Product {i}", status="active", updated_at=T0 + timedelta(minutes=i),
                      variants=(VariantRecord(external_id=f"V{i}", sku=f"SKU{i}", title="Default",
                                              price=Decimal("10.00") + i, inventory_quantity=i),))
        for i in range(products)]
    custs: list[Record] = [CustomerRecord(external_id=f"C{i}", email=f"c{i}@x.test",
                                          updated_at=T0 + timedelta(minutes=i)) for i in range(customers)]
    ords: list[Record] = [
        OrderRecord(external_id=f"O{i}", placed_at=T0 + timedelta(hours=i), currency="EUR",
                    customer_external_id=f"C{i % customers}", updated_at=T0 + timedelta(hours=i),
                    total_price=Decimal("10.00") + i,
                    lines=(OrderLineRecord(external_id=f"L{i}", quantity=1 + i % 3, unit_price=Decimal("10.00"),
                                           product_external_id=f"P{i % products}"),))
        for i in range(orders)]
    return {"products": prods, "customers": custs, "orders": ords}


@dataclass
class MemoryStore:
    """Pages of `page_size` over fixed data; a hook can block or fail a given call."""

    data: dict[str, list[Record]]
    page_size: int = 5
    calls: list[tuple[str, str | None]] = field(default_factory=list)
    before_page: Callable[[str, int], None] | None = None
    before_item: Callable[[str, int], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, connection: StoreConnection) -> MemoryClient:
        return MemoryClient(self)


class MemoryClient:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.throttle = ThrottleReport()

    def verify(self) -> ShopInfo:
        return ShopInfo(name="Memory shop", currency="EUR", timezone="Europe/Paris")

    def fetch_page(self, entity: Entity, *, updated_since: datetime | None, cursor: str | None,
                   page_size: int) -> FetchedPage:
        with self.store.lock:
            self.store.calls.append((entity, cursor))
            number = len(self.store.calls)
        if self.store.before_page is not None:
            self.store.before_page(entity, number)
        rows = [r for r in self.store.data[entity]
                if updated_since is None or (r.updated_at is not None and r.updated_at > updated_since)]
        start = int(cursor or 0)
        page = rows[start:start + self.store.page_size]
        nxt = str(start + self.store.page_size) if start + self.store.page_size < len(rows) else None
        newest = max((r.updated_at for r in page if r.updated_at), default=None)
        return FetchedPage(records=page, next_cursor=nxt, max_updated_at=newest)

    # A bulk export of the same data, in the flat shape of BulkStoreClient.iter_bulk.
    def start_bulk(self, entity: Entity, *, updated_since: datetime | None) -> str:
        with self.store.lock:
            self.store.calls.append((f"bulk:{entity}", None))
        return f"gid://memory/BulkOperation/{entity}"

    def bulk_status(self, operation_id: str) -> BulkStatus:
        entity = operation_id.rsplit("/", 1)[1]
        return BulkStatus(state="completed", url=f"memory://{entity}", object_count=len(self.store.data[entity]))

    def iter_bulk(self, url: str, entity: Entity) -> Iterator[BulkItem]:
        for number, record in enumerate(self.store.data[entity]):
            if self.store.before_item is not None:
                self.store.before_item(entity, number)
            if isinstance(record, ProductRecord):
                yield None, replace(record, variants=())
                yield from ((record.external_id, v) for v in record.variants)
            elif isinstance(record, OrderRecord):
                yield None, replace(record, lines=())
                yield from ((record.external_id, line) for line in record.lines)
            else:
                yield None, record

    def close(self) -> None:
        return None
