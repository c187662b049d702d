"""Data quality: the checks a version's rows pass (completeness, validity, uniqueness, timeliness…)
and the report published with each version."""
