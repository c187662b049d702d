"""The double-entry ledger of the data market: accounts, balanced journal entries (money in integer
fen), balances, statements per organisation and the allocation of settled revenue among parties
(``allocate``). ``service`` is the domain's public face."""
