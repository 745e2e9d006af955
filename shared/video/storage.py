"""Video blobs: short-lived SAS URLs for one blob each, streamed downloads, thumbnails, deletion.

SAS tokens are signed with the account key when the connection string has one (Azurite, key-based
accounts); with a managed identity (no key) they are signed with a user delegation key, fetched with
the identity and cached until shortly before it expires. Either way a URL grants one blob, for minutes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import (
    BlobSasPermissions,
    BlobServiceClient,
    ContentSettings,
    UserDelegationKey,
    generate_blob_sas,
)

from shared.config import Settings

# Clocks of the caller and of Storage may differ a little: a SAS is valid from a few minutes back.
_CLOCK_SKEW = timedelta(minutes=5)
_DELEGATION_KEY_LIFETIME = timedelta(hours=6)
_DOWNLOAD_CHUNK = 4 * 1024 * 1024
UPLOAD_PERMISSION = BlobSasPermissions(create=True, write=True)
READ_PERMISSION = BlobSasPermissions(read=True)


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_at: datetime


class VideoStorage:
    """The videos container (uploads) and the thumbnails container, over one BlobServiceClient."""

    def __init__(self, service: BlobServiceClient, *, videos: str, thumbnails: str, ttl: timedelta) -> None:
        self._service = service
        self.videos = videos
        self.thumbnails = thumbnails
        self.ttl = ttl
        self._key_lock = threading.Lock()
        self._delegation_key: tuple[UserDelegationKey, datetime] | None = None
        self._containers_ready = False

    def ensure_containers(self) -> None:
        """Create both containers if missing (once per process): an upload URL must have a container to PUT to."""
        if self._containers_ready:
            return
        for name in (self.videos, self.thumbnails):
            with contextlib.suppress(ResourceExistsError):
                self._service.get_container_client(name).create_container()
        self._containers_ready = True

    # Signing ---------------------------------------------------------------------------------------

    def upload_url(self, blob_name: str, *, now: datetime | None = None) -> SignedUrl:
        """Create + write, no read: the holder can PUT this one blob and nothing else."""
        return self._signed(self.videos, blob_name, UPLOAD_PERMISSION, now or datetime.now(UTC))

    def thumbnail_url(self, blob_name: str, *, now: datetime | None = None) -> SignedUrl:
        return self._signed(self.thumbnails, blob_name, READ_PERMISSION, now or datetime.now(UTC))

    def _signed(self, container: str, blob_name: str, permission: BlobSasPermissions, now: datetime) -> SignedUrl:
        expiry = now + self.ttl
        credential: dict[str, Any] = {}
        account_key = getattr(self._service.credential, "account_key", None)
        if account_key:
            credential["account_key"] = account_key
        else:
            credential["user_delegation_key"] = self._user_delegation_key(now, expiry)
        sas = generate_blob_sas(
            account_name=self._service.account_name or "", container_name=container, blob_name=blob_name,
            permission=permission, start=now - _CLOCK_SKEW, expiry=expiry, **credential,
        )
        url = self._service.get_blob_client(container, blob_name).url
        return SignedUrl(url=f"{url}?{sas}", expires_at=expiry)

    def _user_delegation_key(self, now: datetime, expiry: datetime) -> UserDelegationKey:
        """Managed identity: one delegation key (Storage Blob Delegator role) serves many SAS until it expires."""
        with self._key_lock:
            if self._delegation_key is None or self._delegation_key[1] < expiry:
                key_expiry = now + _DELEGATION_KEY_LIFETIME
                key = self._service.get_user_delegation_key(now - _CLOCK_SKEW, key_expiry)
                self._delegation_key = (key, key_expiry)
            return self._delegation_key[0]

    # Blobs -----------------------------------------------------------------------------------------

    def upload_size(self, blob_name: str) -> int | None:
        """The uploaded blob's size in bytes; None when there is no such blob."""
        try:
            return int(self._service.get_blob_client(self.videos, blob_name).get_blob_properties().size)
        except ResourceNotFoundError:
            return None

    @contextlib.contextmanager
    def downloaded(self, blob_name: str, suffix: str = "") -> Iterator[Path]:
        """The upload in a temporary file, streamed in chunks (never whole in memory); deleted after."""
        fd, name = tempfile.mkstemp(prefix="video-", suffix=suffix)
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                stream = self._service.get_blob_client(self.videos, blob_name).download_blob()
                for chunk in stream.chunks():
                    out.write(chunk)
            yield path
        finally:
            path.unlink(missing_ok=True)

    def put_thumbnail(self, blob_name: str, jpeg: bytes) -> None:
        container = self._service.get_container_client(self.thumbnails)
        settings = ContentSettings(content_type="image/jpeg")
        try:
            container.upload_blob(blob_name, jpeg, overwrite=True, content_settings=settings)
        except ResourceNotFoundError:
            with contextlib.suppress(ResourceExistsError):
                container.create_container()
            container.upload_blob(blob_name, jpeg, overwrite=True, content_settings=settings)

    def read_thumbnail(self, blob_name: str) -> bytes | None:
        """A thumbnail's JPEG bytes (small: a few tens of kB); None when it is gone."""
        try:
            return bytes(self._service.get_blob_client(self.thumbnails, blob_name).download_blob().readall())
        except ResourceNotFoundError:
            return None

    def delete_video(self, blob_name: str, thumbnail_prefix: str) -> None:
        """The upload and every thumbnail under the prefix; what is already gone is no error."""
        with contextlib.suppress(ResourceNotFoundError):
            self._service.get_blob_client(self.videos, blob_name).delete_blob(delete_snapshots="include")
        thumbnails = self._service.get_container_client(self.thumbnails)
        try:
            names = [b.name for b in thumbnails.list_blobs(name_starts_with=thumbnail_prefix)]
        except ResourceNotFoundError:
            return
        for name in names:
            with contextlib.suppress(ResourceNotFoundError):
                thumbnails.delete_blob(name)


def build_video_storage(settings: Settings) -> VideoStorage | None:
    """From the storage connection string, or (Azure, managed identity) the blob service URI; None if neither."""
    if settings.storage_connection_string:
        service = BlobServiceClient.from_connection_string(settings.storage_connection_string)
    elif settings.storage_blob_service_uri:
        from azure.identity import DefaultAzureCredential

        service = BlobServiceClient(settings.storage_blob_service_uri, credential=DefaultAzureCredential())
    else:
        return None
    return VideoStorage(service, videos=settings.video_container, thumbnails=settings.thumbnail_container,
                        ttl=timedelta(minutes=settings.video_sas_ttl_minutes))
