"""Wire format of live video."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class EncoderSettings(BaseModel):
    """What an encoder (OBS or any RTMP one) should send for low delay and smooth playback."""

    video_codec: str = "H.264 (x264), main profile"
    resolution: str = "1280×720 (portrait shows: 720×1280)"
    frame_rate: int = 30
    keyframe_interval_s: int = 2  # HLS cuts segments at keyframes
    video_bitrate_kbps: int = 2_500
    audio_codec: str = "AAC, 44.1 kHz stereo"
    audio_bitrate_kbps: int = 128


class StreamKeyOut(BaseModel):
    """An anchor's stream key as the console shows it: never the key itself, but its hint."""

    server_url: str  # the RTMP URL an encoder publishes to
    hint: str | None  # the first characters of the key in force; none without one
    created_at: datetime | None
    revoked_at: datetime | None
    active: bool
    encoder: EncoderSettings


class NewStreamKeyOut(StreamKeyOut):
    """A key just made: the only answer that carries it whole."""

    stream_key: str
