"""Bulk matching (政策匹配): every clause for every enterprise, proactive notices and reach."""
