"""The safe expression language shared by policy conditions, loan products, tiers and zone admission:
parsed by a grammar into an AST, evaluated in Python with three-valued logic, compiled to SQL."""
