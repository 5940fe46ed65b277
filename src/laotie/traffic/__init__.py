"""Traffic: follows and the private domain they make; later fan groups, notifications, the feed."""
