"""The password policy: long enough (the schema's ``min_length``) and hard to guess.

Guessability is judged by zxcvbn (Dropbox's estimator: common passwords, dictionary words, names,
keyboard patterns, repeats, sequences, dates, l33t substitutions), given the account's own username
and display name so that a password built from them is refused too. A password must score at least
``MIN_SCORE`` (3 of 4: "safely unguessable", about 10^8 guesses or more). The message says what is
wrong in Chinese."""

from __future__ import annotations

from typing import Any

from zxcvbn import zxcvbn

from pubdata.identity.errors import InvalidIdentityInput

MIN_SCORE = 3
_ZXCVBN_MAX = 72  # zxcvbn refuses longer input; the first 72 characters decide

_ADVICE = "请改用更长、更难猜的密码，例如由几个不相关的词语加数字和符号组成。"
_DICTIONARY = {
    "passwords": "这是常见密码或与常见密码相似",
    "english_wikipedia": "以常见单词为主体",
    "us_tv_and_film": "以常见单词为主体",
    "female_names": "以常见人名为主体",
    "male_names": "以常见人名为主体",
    "surnames": "以常见姓氏为主体",
}
_PATTERN = {
    "spatial": "含键盘上相邻按键的排列（如 qwerty、1qaz）",
    "repeat": "含重复的字符或片段（如 aaa、abcabc）",
    "sequence": "含连续序列（如 abcd、6543）",
    "regex": "含近年的年份",
    "date": "含日期",
}


def _problem(result: dict[str, Any]) -> str:
    matches = result.get("sequence") or []
    dictionaries = [m.get("dictionary_name") for m in matches if m.get("pattern") == "dictionary"]
    if "user_inputs" in dictionaries:
        return "包含用户名或姓名"
    for name in dictionaries:
        if name in _DICTIONARY:
            return _DICTIONARY[str(name)]
    for m in matches:
        if m.get("pattern") in _PATTERN:
            return _PATTERN[str(m["pattern"])]
    return "太简单，容易被猜中"


def password_problem(password: str, user_inputs: list[str]) -> str | None:
    """Why the password is refused, in Chinese, or None when it is acceptable."""
    inputs = [s for s in user_inputs if s]
    result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=inputs)
    if int(result["score"]) >= MIN_SCORE:
        return None
    return f"密码强度不足：{_problem(result)}。{_ADVICE}"


def check_password(password: str, user_inputs: list[str]) -> None:
    """Raise ``InvalidIdentityInput`` (field ``password``) for a guessable password."""
    problem = password_problem(password, user_inputs)
    if problem:
        raise InvalidIdentityInput(problem, field="password", code="identity.weak_password")
