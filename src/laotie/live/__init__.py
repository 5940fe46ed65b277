"""Live sessions and rooms: previews, the cart, pinning, flash sales, chat, likes, visits."""
