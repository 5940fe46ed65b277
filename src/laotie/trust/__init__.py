"""Trust: reviews of delivered orders, and (to come) the scores, rules and privileges they feed."""
