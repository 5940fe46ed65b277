"""Users, roles, sign-up and sign-in, sessions and API tokens, permissions."""
