"""Error codes of live video, and the HTTP status each answers."""

from enum import StrEnum

from laotie.core.errors import status_table


class VideoError(StrEnum):
    """Why a video request was refused."""

    NO_STREAM_KEY = "no_stream_key"


STATUS = status_table(VideoError, {VideoError.NO_STREAM_KEY: 404})
