"""Each API dialect's wire words for a job, as its webhook events carry them (`EVENT_RENDERERS`: the dialect's
name on stored jobs -> its event renderer)."""

from __future__ import annotations

from stillmotion.api import aimlapi, minimax, openai_videos
from stillmotion.webhooks import EventRenderer

EVENT_RENDERERS: dict[str, EventRenderer] = {
    dialect.DIALECT: dialect.render_event for dialect in (aimlapi, minimax, openai_videos)
}
