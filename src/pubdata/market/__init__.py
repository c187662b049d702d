"""The data market: products built on catalogue entries, their listings and price plans
(docs/market.md). ``service`` is its public face; ``plans`` the pure price arithmetic."""
