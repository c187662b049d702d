"""The tamper-evident audit trail: every read of governed data and every governance action."""
