"""devhost.azurite starts the pinned Azurite so that the current storage SDKs work against it."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient

import devhost.azurite
from devhost.azurite import Azurite, AzuriteNotInstalledError


def test_current_blob_and_queue_sdks_work_against_it(
    azurite_connection_string: str, unique: Callable[[str], str]
) -> None:
    container = BlobServiceClient.from_connection_string(azurite_connection_string).create_container(
        unique("sdk")
    )
    container.upload_blob("hello.txt", b"hi")
    queue = QueueClient.from_connection_string(azurite_connection_string, unique("sdk"))
    queue.create_queue()
    queue.send_message("ping")

    assert container.download_blob("hello.txt").readall() == b"hi"
    assert [m.content for m in queue.receive_messages()] == ["ping"]


def test_it_listens_on_free_loopback_ports_not_the_well_known_ones(azurite_connection_string: str) -> None:
    assert "BlobEndpoint=http://127.0.0.1:" in azurite_connection_string
    assert ":10000/" not in azurite_connection_string
    assert ":10001/" not in azurite_connection_string


def test_data_survives_a_restart_and_stop_ends_the_process(tmp_path: Path) -> None:
    first = Azurite(tmp_path / "azurite")
    blobs = BlobServiceClient.from_connection_string(first.start())
    blobs.create_container("kept").upload_blob("a.txt", b"still here")
    process = first._process
    first.stop()
    assert process is not None
    assert process.poll() is not None

    with Azurite(tmp_path / "azurite") as second:
        again = BlobServiceClient.from_connection_string(second.connection_string)
        assert again.get_container_client("kept").download_blob("a.txt").readall() == b"still here"


def test_missing_install_tells_the_user_to_run_npm_ci(tmp_path: Path) -> None:
    azurite = Azurite(tmp_path, executable=tmp_path / "node_modules" / ".bin" / "azurite")

    with pytest.raises(AzuriteNotInstalledError, match="npm ci"):
        azurite.start()


def test_ports_taken_before_azurite_binds_them_are_not_mistaken_for_azurite(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another process got the "free" blob and queue ports first: they accept connections, but are not Azurite.
    with socket.socket() as blob, socket.socket() as queue:
        for taken in (blob, queue):
            taken.bind(("127.0.0.1", 0))
            taken.listen()
        ports = [blob.getsockname()[1], queue.getsockname()[1]]
        picks = iter(ports)
        free_port = devhost.azurite.free_port
        monkeypatch.setattr(devhost.azurite, "free_port", lambda: next(picks, None) or free_port())

        with Azurite(tmp_path / "azurite") as azurite:
            assert not {azurite.blob_port, azurite.queue_port} & set(ports)  # started again, on ports it owns
            client = QueueClient.from_connection_string(azurite.connection_string, "taken")
            client.create_queue()
            client.send_message("ping")
            assert [m.content for m in client.receive_messages()] == ["ping"]
