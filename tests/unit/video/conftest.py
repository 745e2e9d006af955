"""Clips for the media-analysis tests, generated once per run with PyAV."""

from __future__ import annotations

import pytest

from tests.unit.video.video_support import Clip, make_clips


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Clip]:
    return make_clips(tmp_path_factory.mktemp("video_clips"))
