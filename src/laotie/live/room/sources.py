"""Where a visit came from, as a link says it, and why a private source must be signed.

The private-domain sources (DESIGN.md: `follow_feed`, `live_notification`, `fan_group`,
`profile`, `preview_rsvp`) and `share` are only taken from links laotie made: the link's
`src` is `source.signature`, bound to the room, so nobody can claim `follow_feed` by
typing it. An unsigned or forged one counts as `other`; the public sources (`search`,
`category`, `recommend_feed`, `other`) need no signature. An unknown tag is refused by
the room's socket and shown as `other` by the page.
"""

from __future__ import annotations

from laotie.core.signing import sign, unsign
from laotie.live.schemas import PRIVATE_SOURCES, EntrySource

SIGNED_SOURCES = frozenset(PRIVATE_SOURCES | {EntrySource.SHARE})
_KNOWN = frozenset(source.value for source in EntrySource)


def _purpose(session_id: str) -> str:
    return f"entry-source:{session_id}"


def source_tag(secret_key: str, session_id: str, source: EntrySource) -> str:
    """Return a link's `src` for a room: signed when the source must be."""
    if source in SIGNED_SOURCES:
        return sign(secret_key, _purpose(session_id), source.value)
    return source.value


def resolve_source(secret_key: str, session_id: str, tag: str) -> EntrySource | None:
    """Return the source a link's tag names (`other` when forged), or None if it names none."""
    if "." in tag:
        value = unsign(secret_key, _purpose(session_id), tag)
        return EntrySource(value) if value in _KNOWN else EntrySource.OTHER
    if tag not in _KNOWN:
        return None
    source = EntrySource(tag)
    return EntrySource.OTHER if source in SIGNED_SOURCES else source
