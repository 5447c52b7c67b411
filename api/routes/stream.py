"""``GET /api/v1/stream``: server-sent events of alert and incident changes in your area."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from api.deps import State, StreamUser
from api.stream import sse_events

router = APIRouter(tags=["live"])


@router.get("/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def stream(user: StreamUser, state: State) -> StreamingResponse:
    """Events ``alert`` and ``incident`` (JSON of the Kafka event), ``resync`` when this client
    fell behind (re-fetch lists), and keep-alive comments. EventSource may pass
    ``?access_token=``."""
    client = state.hub.subscribe(user.region)
    state.metrics.stream_clients.set(len(state.hub.clients))

    async def body() -> AsyncIterator[str]:
        try:
            async for chunk in sse_events(client, state.options.stream_keepalive_s):
                yield chunk
        finally:
            state.hub.unsubscribe(client)
            state.metrics.stream_clients.set(len(state.hub.clients))

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
