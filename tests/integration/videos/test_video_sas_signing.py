"""SAS signing without an account key (managed identity): a user delegation key, fetched once and reused."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from azure.storage.blob import BlobServiceClient, UserDelegationKey

from shared.video.storage import VideoStorage


class _TokenCredential:
    """Stands in for DefaultAzureCredential: never asked for a token, no account key."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise AssertionError("no request is expected")


class _DelegatingService(BlobServiceClient):
    def __init__(self) -> None:
        super().__init__("https://acct.blob.core.windows.net", credential=_TokenCredential())
        self.key_requests = 0

    def get_user_delegation_key(
        self, key_start_time: datetime, key_expiry_time: datetime, **kwargs: Any
    ) -> UserDelegationKey:
        self.key_requests += 1
        key = UserDelegationKey()
        key.signed_oid, key.signed_tid = "00000000-0000-0000-0000-0000000000aa", "tenant"
        key.signed_start = key_start_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        key.signed_expiry = key_expiry_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        key.signed_service, key.signed_version = "b", "2026-10-06"
        key.value = base64.b64encode(b"k" * 32).decode()
        return key


def test_without_an_account_key_urls_are_signed_with_one_cached_user_delegation_key() -> None:
    service = _DelegatingService()
    storage = VideoStorage(service, videos="videos", thumbnails="thumbs", ttl=timedelta(minutes=15))
    now = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)

    upload = storage.upload_url("org/vid/clip.mp4", now=now)
    thumb = storage.thumbnail_url("org/vid/keyframe-00.jpg", now=now + timedelta(minutes=1))

    query = parse_qs(urlsplit(upload.url).query)
    assert urlsplit(upload.url).path == "/videos/org/vid/clip.mp4"
    assert query["sp"] == ["cw"] and query["sr"] == ["b"]
    assert query["skoid"] == ["00000000-0000-0000-0000-0000000000aa"]
    assert upload.expires_at == now + timedelta(minutes=15)
    assert parse_qs(urlsplit(thumb.url).query)["sp"] == ["r"]
    assert service.key_requests == 1
