"""devhost.blobs fires blobTrigger functions once per blob version, remembers it across restarts,
and gives up on a blob that keeps failing, as the Functions host does."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import azure.functions as func
import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient
from azure.storage.queue import QueueClient

from devhost.blobs import POISON_QUEUE, BlobPath, BlobTriggerRunner
from devhost.discovery import discover

Waiter = Callable[..., None]
app = func.FunctionApp()
seen: list[tuple[str, str | None, bytes, int | None, str | None]] = []
failures: list[str] = []
_lock = threading.Lock()


@app.blob_trigger(arg_name="blob", path="%VIDEOS%/{name}.mp4", connection="AzureWebJobsStorage")
def on_video(blob: func.InputStream) -> None:
    with _lock:
        seen.append(("on_video", blob.name, blob.read(), blob.length, blob.uri))


@app.blob_trigger(arg_name="blob", path="%BROKEN%/{name}", connection="AzureWebJobsStorage")
def always_fails(blob: func.InputStream) -> None:
    with _lock:
        failures.append(str(blob.name))
    raise RuntimeError("cannot read this video")


@pytest.fixture
def names(unique: Callable[[str], str]) -> dict[str, str]:
    return {"VIDEOS": unique("videos"), "BROKEN": unique("broken")}


@pytest.fixture
def make_runner(
    azurite_connection_string: str, names: dict[str, str], tmp_path: Path
) -> Iterator[Callable[[], BlobTriggerRunner]]:
    runners: list[BlobTriggerRunner] = []

    def make() -> BlobTriggerRunner:
        runner = BlobTriggerRunner(
            discover(app), connection_string=azurite_connection_string, state_dir=tmp_path / "state",
            poll_interval=0.05, max_attempts=3, settings=names,
        )  # fmt: skip
        runners.append(runner)
        return runner

    seen.clear()
    failures.clear()
    yield make
    for runner in runners:
        runner.stop()


def _container(connection_string: str, name: str) -> ContainerClient:
    return BlobServiceClient.from_connection_string(connection_string).get_container_client(name)


def test_an_uploaded_blob_fires_once_with_its_name_and_bytes(
    make_runner: Callable[[], BlobTriggerRunner], names: dict[str, str], azurite_connection_string: str,
    wait_for: Waiter,
) -> None:  # fmt: skip
    runner = make_runner()
    runner.start()
    container = _container(azurite_connection_string, names["VIDEOS"])
    container.upload_blob("org-1/clip.mp4", b"\x00video bytes")

    wait_for(lambda: seen, message="the blob trigger")
    runner.poll_once()
    runner.poll_once()

    [(function, name, data, length, uri)] = seen
    assert (function, name, data, length) == ("on_video", f"{names['VIDEOS']}/org-1/clip.mp4", b"\x00video bytes", 12)
    assert uri is not None
    assert uri.endswith("/org-1/clip.mp4")


def test_a_restarted_runner_does_not_fire_again_but_a_changed_blob_does(
    make_runner: Callable[[], BlobTriggerRunner], names: dict[str, str], azurite_connection_string: str
) -> None:
    first = make_runner()
    first.start()
    container = _container(azurite_connection_string, names["VIDEOS"])
    container.upload_blob("a.mp4", b"v1")
    assert first.poll_once() == 1
    first.stop()

    restarted = make_runner()
    assert restarted.poll_once() == 0

    container.upload_blob("a.mp4", b"v2", overwrite=True)
    assert restarted.poll_once() == 1
    assert [data for _, _, data, _, _ in seen] == [b"v1", b"v2"]


def test_blobs_outside_the_path_pattern_are_ignored(
    make_runner: Callable[[], BlobTriggerRunner], names: dict[str, str], azurite_connection_string: str
) -> None:
    runner = make_runner()
    runner.start()
    _container(azurite_connection_string, names["VIDEOS"]).upload_blob("notes.txt", b"not a video")

    assert runner.poll_once() == 0
    assert seen == []


def test_a_blob_that_keeps_failing_is_retried_then_reported_as_poison(
    make_runner: Callable[[], BlobTriggerRunner], names: dict[str, str], azurite_connection_string: str
) -> None:
    runner = make_runner()
    runner.start()
    _container(azurite_connection_string, names["BROKEN"]).upload_blob("bad.mp4", b"?")

    for _ in range(5):
        runner.poll_once()

    assert failures == [f"{names['BROKEN']}/bad.mp4"] * 3
    poison = QueueClient.from_connection_string(azurite_connection_string, POISON_QUEUE)
    reports = [json.loads(base64.b64decode(m.content)) for m in poison.peek_messages(max_messages=32)]
    assert {
        "Type": "BlobTrigger",
        "FunctionId": "Host.Functions.always_fails",
        "BlobType": "BlockBlob",
        "ContainerName": names["BROKEN"],
        "BlobName": "bad.mp4",
    }.items() <= next(r for r in reports if r["ContainerName"] == names["BROKEN"]).items()


@pytest.mark.parametrize(
    ("path", "blob", "matches"),
    [
        ("videos/{name}", "a/b/c.mp4", True),
        ("videos/{name}.mp4", "clip.mp4", True),
        ("videos/{name}.mp4", "clip.mov", False),
        ("videos/raw/{org}/{name}", "raw/o1/x.mp4", True),
        ("videos/raw/{org}/{name}", "cooked/o1/x.mp4", False),
        ("videos", "anything", True),
    ],
)
def test_binding_paths_match_blob_names_like_the_host(path: str, blob: str, matches: bool) -> None:
    assert BlobPath.parse(path).matches(blob) is matches
