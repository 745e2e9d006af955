"""Blob names: the caller's file name made safe, and trigger names mapped back to the upload's blob."""

from __future__ import annotations

import pytest

from shared.video.service import safe_filename
from shared.video.uploads import blob_name_in


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
