"""WebSocket fan-out: room logs with sequence numbers, per-viewer outboxes, brokers.

It knows nothing of commerce: a room is a name, an event is a type, a priority and a
JSON-ready payload.
"""
