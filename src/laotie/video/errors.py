"""Error codes of live video, and the HTTP status each answers."""

from enum import StrEnum

from laotie.core.errors import status_table


class VideoError(StrEnum):
    """Why a video request was refused."""

    NO_STREAM_KEY = "no_stream_key"
    KEY_REFUSED = "stream_key_refused"
    NO_SHOW = "no_show_to_stream"
    NOT_THE_MEDIA_SERVER = "not_the_media_server"


STATUS = status_table(
    VideoError,
    {
        VideoError.NO_STREAM_KEY: 404,
        VideoError.KEY_REFUSED: 403,
        VideoError.NO_SHOW: 409,
        VideoError.NOT_THE_MEDIA_SERVER: 403,
    },
)
