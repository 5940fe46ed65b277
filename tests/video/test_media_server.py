"""The media server for real: nginx with its RTMP module, configured by `laotie media config`,
asks a running laotie to authorise an ffmpeg stream. A wrong key is refused; a good one turns
the anchor's show live, its HLS files are named by the show and never by the key, and the
show ends when the stream stops."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from laotie.bench.common import free_port, stop_process
from laotie.settings import Settings
from laotie.video.nginx import MediaServer, nginx_program, write_config
from tests.factories import PASSWORD
from tests.servers import live_server, migrated_sqlite

pytestmark = [pytest.mark.server, pytest.mark.any_backend]

SECRET = "test-secret-key-not-for-production"  # the one `serving` gives the server
__all__ = ["live_server", "migrated_sqlite"]  # fixtures
STREAM_S = 8  # long enough for two HLS segments of 2 s


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def programs() -> tuple[str, str]:
    """nginx with its RTMP module, and ffmpeg; skipped without them (failed on CI)."""
    nginx, ffmpeg = nginx_program(), shutil.which("ffmpeg")
    if nginx is None:
        _missing("nginx with its RTMP module not found (install nginx and libnginx-mod-rtmp)")
    if ffmpeg is None:
        _missing("ffmpeg not found (install the ffmpeg package)")
    assert nginx is not None and ffmpeg is not None
    return nginx, ffmpeg


@pytest.fixture
def media(programs: tuple[str, str], live_server: str, tmp_path: Path) -> Iterator[MediaServer]:
    """nginx on the configuration `laotie media config` writes, calling the laotie above."""
    # Outside pytest's private folders: nginx's workers drop root and must reach it.
    folder = Path(tempfile.mkdtemp(prefix="laotie-media-"))
    folder.chmod(0o755)
    server = MediaServer(folder, free_port(), free_port(), live_server)
    path = write_config(server, Settings(secret_key=SECRET))
    log = (tmp_path / "nginx.out").open("wb")
    process = subprocess.Popen(
        [programs[0], "-p", str(server.folder), "-c", str(path)], stdout=log, stderr=log
    )
    try:
        yield server
    finally:
        stop_process(process)
        log.close()
        shutil.copy(folder / "error.log", tmp_path / "nginx-error.log")
        shutil.rmtree(folder, ignore_errors=True)


async def _anchor_with_a_show(api: httpx.AsyncClient) -> tuple[dict[str, str], str, str]:
    """An anchor (a seller) with its shop and a show scheduled; return its headers, the
    show's id and a new stream key."""
    email = f"anchor-{uuid.uuid4().hex[:6]}@example.com"
    made = await api.post(
        "/api/auth/sign-up",
        json={"email": email, "password": PASSWORD, "name": "Wang", "roles": ["seller"]},
    )
    assert made.status_code == 201, made.text
    token = await api.post("/api/auth/tokens", json={"email": email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    shop = await api.post(
        "/api/shops", json={"name": f"Tea {uuid.uuid4().hex[:6]}"}, headers=headers
    )
    show = await api.post(
        "/api/live/sessions",
        json={
            "shop_id": shop.json()["id"],
            "title": "Tea on camera",
            "scheduled_at": "2030-01-01T12:00:00Z",
        },
        headers=headers,
    )
    assert show.status_code == 201, show.text
    key = await api.post("/api/me/stream-key", headers=headers)
    return headers, show.json()["id"], key.json()["stream_key"]


def _publish(ffmpeg: str, url: str, seconds: int) -> subprocess.CompletedProcess[bytes]:
    """Publish a moving test picture and a tone for a while, as an encoder would."""
    return subprocess.run(
        [
            ffmpeg, "-hide_banner", "-loglevel", "error", "-re",
            "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=30:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "60",
            "-c:a", "aac", "-f", "flv", url,
        ],
        capture_output=True,
        timeout=seconds + 60,
        check=False,
    )  # fmt: skip


async def test_a_stream_is_authorised_renamed_to_its_show_and_ends_the_show(
    programs: tuple[str, str], live_server: str, media: MediaServer
) -> None:
    ffmpeg = programs[1]
    async with httpx.AsyncClient(base_url=live_server, timeout=30) as api:
        headers, session_id, key = await _anchor_with_a_show(api)
        rtmp = f"rtmp://127.0.0.1:{media.rtmp_port}/live"
        wrong = await asyncio.to_thread(_publish, ffmpeg, f"{rtmp}/lt_not-a-key", 3)
        assert wrong.returncode != 0  # the media server refused the stream
        status = (await api.get(f"/api/live/sessions/{session_id}")).json()["status"]
        assert status == "scheduled"

        publishing = asyncio.create_task(
            asyncio.to_thread(_publish, ffmpeg, f"{rtmp}/{key}", STREAM_S)
        )
        playlist = media.hls / f"{session_id}.m3u8"
        for _ in range(STREAM_S * 10):
            if playlist.exists():
                break
            await asyncio.sleep(0.1)
        assert playlist.exists(), sorted(p.name for p in media.hls.iterdir())
        live = (await api.get(f"/api/live/sessions/{session_id}")).json()
        assert live["status"] == "live"
        served = await api.get(f"http://127.0.0.1:{media.http_port}/hls/{session_id}.m3u8")
        assert served.status_code == 200 and "#EXTM3U" in served.text
        done = await publishing
        assert done.returncode == 0, done.stderr.decode()

        names = [path.name for folder in (media.hls, media.recordings) for path in folder.iterdir()]
        assert names and not any(key in name for name in names)
        assert any(name.startswith(session_id) for name in os.listdir(media.recordings))
        for _ in range(50):  # the media server tells laotie the stream stopped
            ended = (await api.get(f"/api/live/sessions/{session_id}")).json()["status"]
            if ended == "ended":
                break
            await asyncio.sleep(0.1)
        assert ended == "ended"
        assert headers  # the anchor never touched the console: the stream did it all
