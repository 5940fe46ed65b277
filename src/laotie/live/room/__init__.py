"""The room: its socket, snapshot and reducer, chat, and the visits of its viewers."""
