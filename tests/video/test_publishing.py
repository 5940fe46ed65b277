"""The media server's callbacks, as nginx-rtmp posts them: only the media server may call
them, a good key pushes the stream on under its show's id, and a stopped stream ends the show."""

from __future__ import annotations

from typing import Any

import httpx

from laotie.core.clock import FrozenClock
from laotie.video.publishing import media_token
from tests.live.sale_room import go_live

PUSH = "rtmp://127.0.0.1:1935/show"


def _paths(settings: Any) -> tuple[str, str]:
    token = media_token(settings)
    return (
        f"/api/media/publish?token={token}&push={PUSH}",
        f"/api/media/publish-done?token={token}",
    )


async def test_a_good_key_pushes_its_stream_under_the_shows_id_and_the_end_ends_the_show(
    client: httpx.AsyncClient, clock: FrozenClock, settings: Any
) -> None:
    show = await go_live(client, clock, "On camera", price_minor=900, stock=3)
    publish, done = _paths(settings)
    forged = await client.post(
        f"/api/media/publish?token=forged&push={PUSH}", data={"name": "anything"}
    )
    assert forged.status_code == 403 and forged.json()["code"] == "not_the_media_server"
    wrong = await client.post(publish, data={"name": "lt_wrong"})
    assert wrong.status_code == 403 and wrong.json()["code"] == "stream_key_refused"

    key = (await client.post("/api/me/stream-key", headers=show.anchor.headers)).json()
    good = await client.post(publish, data={"name": key["stream_key"], "app": "live"})
    assert good.status_code == 302
    assert good.headers["location"] == f"{PUSH}/{show.session_id}"
    assert key["stream_key"] not in good.headers["location"]

    stopped = await client.post(done, data={"name": show.session_id, "app": "show"})
    assert stopped.status_code == 204
    ended = await client.get(f"/api/live/sessions/{show.session_id}")
    assert ended.json()["status"] == "ended"
    none_left = await client.post(publish, data={"name": key["stream_key"]})
    assert none_left.status_code == 409 and none_left.json()["code"] == "no_show_to_stream"
    # The ingest stream's own end names the key: nothing to end.
    assert (await client.post(done, data={"name": key["stream_key"]})).status_code == 204
