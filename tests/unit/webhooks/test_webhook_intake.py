"""The receiving side's pieces without I/O: batch messages, the TTL cache, secrets refreshed on a miss."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.ports import SecretNotFound
from shared.webhooks import SHOPIFY_APP_SECRET, decode_batch, decode_message, encode_batch, encode_message
from shared.webhooks.intake import Intake, TtlCache
from shared.webhooks.signatures import sign


def test_a_batch_message_names_every_delivery_and_its_id_is_stable() -> None:
    ids = [uuid.uuid4() for _ in range(3)]
    body, message_id = encode_batch(ids)
    assert decode_batch(body) == ids
    assert encode_batch(ids)[1] == message_id != encode_batch(ids[:2])[1]
    assert decode_batch(encode_message(ids[0])) == [ids[0]]  # the single form still reads
    assert encode_batch(ids[:1]) == (encode_message(ids[0]), str(ids[0]))
    with pytest.raises(ValueError, match="not a webhook"):
        decode_message(body)  # several: not one
    with pytest.raises(ValueError, match="not a webhook"):
        decode_batch(b'{"delivery_ids": []}')


def test_ttl_cache_reports_age_and_forgets_after_ttl() -> None:
    now = [100.0]
    cache: TtlCache[str, int] = TtlCache(10, clock=lambda: now[0])
    assert cache.get("a") is None
    cache.put("a", 1)
    now[0] = 104
    assert cache.get("a") == (1, 4)
    now[0] = 111
    assert cache.get("a") is None


class CountingSecrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values, self.reads = values, 0

    def get(self, name: str) -> str:
        self.reads += 1
        if name not in self.values:
            raise SecretNotFound(name)
        return self.values[name]

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> None:
        self.values.pop(name, None)


async def test_secrets_are_read_once_and_reread_when_a_signature_fails_against_them() -> None:
    secrets = CountingSecrets({SHOPIFY_APP_SECRET: "old"})
    intake = Intake(db=Any, secrets=secrets, outbox=Any, refresh_after=0)  # type: ignore[arg-type]
    body = b'{"id": 1}'
    assert await intake.verify_shopify(body, sign("old", body))
    assert await intake.verify_shopify(body, sign("old", body))
    assert secrets.reads == 2  # the secret and its "previous" slot, once
    secrets.values[SHOPIFY_APP_SECRET] = "new"  # rotated
    assert await intake.verify_shopify(body, sign("new", body))
    assert not await intake.verify_shopify(body, sign("guess", body))
    assert not await intake.verify_shopify(body, None)
