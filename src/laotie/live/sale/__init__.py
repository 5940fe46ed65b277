"""The flash sale: its gate (in process or on Redis), the batched order writer, buying."""
