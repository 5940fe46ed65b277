"""The wire forms of follows and the following feed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel


class Target(StrEnum):
    """What can be followed."""

    ANCHOR = "anchor"
    SHOP = "shop"


class FollowOut(BaseModel):
    """Whether the caller follows a target, and how many do."""

    kind: Target
    id: str
    following: bool
    followers: int


class FollowedOut(BaseModel):
    """One anchor or shop the caller follows, and since when."""

    kind: Target
    id: str
    since: datetime


class FeedItemOut(BaseModel):
    """A live or coming session of someone the caller follows, with the link to enter by."""

    session_id: str
    anchor_id: str
    shop_id: str
    title: str
    status: str
    scheduled_at: datetime
    started_at: datetime | None
    # The room's page, entered as from the following feed: `follow_feed`, signed for the room.
    url: str
