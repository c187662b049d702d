"""The synthetic Qingdao demo city: organisations, demo accounts and the 5,099-entry catalogue.

``pubdata.demo.city.build(session, seed=...)`` builds it deterministically; see docs/demo.md.
"""
