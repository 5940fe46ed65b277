"""C2M (customer to manufacturer): factories, their partnerships with shops, and the
demand pooled in live rooms that becomes their production runs."""
