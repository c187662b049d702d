"""pubdata — a public data operation platform (公共数据运营平台) for a city."""

__version__ = "0.1.0"
