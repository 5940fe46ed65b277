"""The media server: nginx with its RTMP module, configured by laotie and run as it is.

`laotie media config` writes the configuration and `laotie media run` starts nginx on it
in the foreground. One RTMP application, `live`, takes the encoders' streams, asks laotie
to authorise each (`video/publishing.py`), writes HLS and records; an HTTP server serves
the HLS files. Everything nginx writes stays in one folder of its own.
"""

from __future__ import annotations

import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path

from laotie.settings import Settings
from laotie.video.publishing import media_token

MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")
# Segments of 2 s, three in the playlist: a player starts 4 to 6 s behind the encoder.
HLS_FRAGMENT_S = 2
HLS_PLAYLIST_S = 6
# The unprivileged user nginx's workers run as when it is started by root.
WORKER_USER = "www-data"


@dataclass(frozen=True, slots=True)
class MediaServer:
    """Where the media server listens, keeps its files, and calls laotie back."""

    folder: Path
    rtmp_port: int = 1935
    http_port: int = 8081
    callback_url: str = "http://127.0.0.1:8000"

    @property
    def hls(self) -> Path:
        """The folder of the HLS playlists and segments, one playlist a live show."""
        return self.folder / "hls"

    @property
    def recordings(self) -> Path:
        """The folder of the shows' recordings."""
        return self.folder / "recordings"


def nginx_program() -> str | None:
    """Return the nginx program, if it is installed with its RTMP module."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    return found if found and MODULE.exists() else None


def config_text(server: MediaServer, settings: Settings) -> str:
    """Return nginx's configuration for the media server."""
    token = media_token(settings)
    back = server.callback_url.rstrip("/")
    user = f"user {WORKER_USER};" if os.geteuid() == 0 and _has_user(WORKER_USER) else ""
    return f"""# Written by `laotie media config`: the media server of laotie's live shows.
load_module {MODULE};
{user}
worker_processes 1;
daemon off;
pid {server.folder}/nginx.pid;
error_log {server.folder}/error.log warn;
events {{ worker_connections 1024; }}

rtmp {{
    server {{
        listen {server.rtmp_port};
        chunk_size 4096;
        # Encoders publish here, their key as the stream's name; nothing is kept of it.
        application live {{
            live on;
            deny play all;
            notify_method post;
            # laotie authorises the key and answers where to push the stream: the `show`
            # application, under the show's id.
            on_publish {back}/api/media/publish?token={token}&push=rtmp://127.0.0.1:{server.rtmp_port}/show;
        }}
        # The shows' streams, pushed from `live` under their public ids: their HLS files
        # and recordings are named by the show, never by the key (nginx-rtmp names its HLS
        # output after the stream's name, whatever a redirect says).
        application show {{
            live on;
            allow publish 127.0.0.1;
            deny publish all;
            deny play all;
            notify_method post;
            on_publish_done {back}/api/media/publish-done?token={token};
            hls on;
            hls_path {server.hls};
            hls_fragment {HLS_FRAGMENT_S}s;
            hls_playlist_length {HLS_PLAYLIST_S}s;
            record all;
            record_path {server.recordings};
            record_unique on;
        }}
    }}
}}

http {{
    access_log off;
    client_body_temp_path {server.folder}/scratch/body;
    proxy_temp_path {server.folder}/scratch/proxy;
    fastcgi_temp_path {server.folder}/scratch/fastcgi;
    uwsgi_temp_path {server.folder}/scratch/uwsgi;
    scgi_temp_path {server.folder}/scratch/scgi;
    types {{
        application/vnd.apple.mpegurl m3u8;
        video/mp2t ts;
    }}
    server {{
        listen {server.http_port};
        location /hls/ {{
            alias {server.hls}/;
            add_header Cache-Control no-cache;
            add_header Access-Control-Allow-Origin *;
        }}
    }}
}}
"""


def write_config(server: MediaServer, settings: Settings) -> Path:
    """Write the configuration and make the folders nginx writes to; return the file."""
    for folder in (server.folder, server.hls, server.recordings, server.folder / "scratch"):
        folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0 and _has_user(WORKER_USER):
        # The workers drop root: the folders they write must be theirs.
        entry = pwd.getpwnam(WORKER_USER)
        for folder in (server.hls, server.recordings, server.folder / "scratch"):
            os.chown(folder, entry.pw_uid, entry.pw_gid)
    path = server.folder / "nginx.conf"
    path.write_text(config_text(server, settings))
    return path


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
