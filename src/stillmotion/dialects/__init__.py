"""Each API dialect's words for a job, without the web framework: the answer shapes and the webhook events that
both the API's routes (`api/`) and worker processes (their webhook dispatcher) write. `EVENT_RENDERERS` maps a
dialect's name on stored jobs to its event renderer."""

from __future__ import annotations

from stillmotion.dialects import aimlapi, minimax, openai_videos
from stillmotion.webhooks import EventRenderer

EVENT_RENDERERS: dict[str, EventRenderer] = {
    dialect.DIALECT: dialect.render_event for dialect in (aimlapi, minimax, openai_videos)
}
