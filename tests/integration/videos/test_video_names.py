"""Blob names: the caller's file name made safe, and trigger names mapped back to the upload's blob."""

from __future__ import annotations

import pytest
from azure.functions.blob import InputStream
from azure.storage.blob import BlobClient

from shared.video.service import safe_filename
from shared.video.uploads import blob_name_in, trigger_name_of


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("Spring lookbook (final).mp4", "Spring-lookbook-final.mp4"),
        ("../../etc/passwd", "passwd.mp4"),
        ("C:\\Users\\me\\Désolé.MOV", "Desole.MOV"),
        ("...", "video.mp4"),
        ("ビデオ.mp4", "video.mp4"),
        ("clip", "clip.mp4"),
    ],
)
def test_file_names_become_one_safe_path_segment(name: str, safe: str) -> None:
    assert safe_filename(name, "video/mp4") == safe


def test_trigger_names_are_mapped_to_blob_names_of_the_videos_container_only() -> None:
    assert blob_name_in("videos", "videos/org/vid/clip.mp4") == "org/vid/clip.mp4"
    assert blob_name_in("videos", "thumbnails/org/vid/clip.mp4") is None


def test_the_trigger_name_comes_from_an_input_stream_or_an_sdk_blob_client() -> None:
    stream = InputStream(data=b"", name="videos/org/vid/clip.mp4", uri="http://x/videos/org/vid/clip.mp4")
    client = BlobClient.from_connection_string(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1", "videos", "org/vid/clip.mp4")
    assert trigger_name_of(stream) == trigger_name_of(client) == "videos/org/vid/clip.mp4"
    assert trigger_name_of(object()) == ""
