"""Reading CKAN action parameters, which arrive as JSON values (POST), or as strings from a query
string or a form (GET, form POST): integers, booleans and JSON lists in either form."""

from __future__ import annotations

import json
from typing import Any

from pubdata.api.ckan.errors import invalid

MISSING = "缺少必填参数"
INT_MAX = 2**31 - 1  # what every database backend takes as an integer parameter
MAX_LIST_ITEMS = 1000  # a list parameter (facet.field, fq_list, organizations, groups…)


class Params:
    """The data dict of one action call, with typed getters that raise CKAN validation errors."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = None) -> Any:
        value = self.data.get(key, default)
        return default if value is None else value

    def string(self, key: str, default: str = "") -> str:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, list):
            if len(value) != 1:
                raise invalid(key, "应为单个取值")
            value = value[0]
        if isinstance(value, dict | list):
            raise invalid(key, "应为字符串")
        return str(value)

    def required(self, key: str) -> str:
        value = self.string(key).strip()
        if not value:
            raise invalid(key, MISSING)
        return value

    def integer(self, key: str, default: int, *, minimum: int = 0, maximum: int = INT_MAX) -> int:
        value = self.raw(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise invalid(key, "应为整数")
        if isinstance(value, int):
            number = value
        else:
            text = self.string(key).strip()
            try:
                number = int(text)
            except ValueError:
                raise invalid(key, f"应为整数：{text!r}") from None
        if number < minimum:
            raise invalid(key, f"不能小于 {minimum}")
        if number > maximum:
            raise invalid(key, f"不能大于 {maximum}")
        return number

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.raw(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        text = self.string(key).strip().lower()
        if text in ("true", "1", "yes", "on", "t", "y"):
            return True
        if text in ("false", "0", "no", "off", "f", "n"):
            return False
        raise invalid(key, f"应为布尔值（true 或 false）：{text!r}")

    def string_list(self, key: str) -> list[str] | None:
        """A list given as a JSON list, a JSON-encoded list string (as CKAN takes ``facet.field``),
        repeated query parameters, or one bare value."""
        value = self.raw(key)
        if value is None:
            return None
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except ValueError:
                    raise invalid(key, f"不是合法的 JSON 列表：{text}") from None
            elif not text:
                return []
            else:
                value = [text]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid(key, "应为字符串列表")
        if len(value) > MAX_LIST_ITEMS:
            raise invalid(key, f"最多 {MAX_LIST_ITEMS} 项，实有 {len(value)} 项")
        return [v.strip() for v in value if v.strip()]


def fits_integer_id(key: str) -> bool:
    """False for an all-digit key too large to be a database id (PostgreSQL would fail on it)."""
    return not key.isdecimal() or int(key) <= INT_MAX
