"""Live video: stream keys, the media server's callbacks, playback and recordings."""
