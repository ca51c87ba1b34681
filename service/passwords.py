"""What makes a password acceptable: one rule, for the API, the console and the command line.

At least MIN_LENGTH characters besides leading and trailing spaces, a few different ones, not one of the 20,000
most common passwords (service/data/common-passwords.txt.gz, the list Django ships; see service/data/NOTICE.md),
and not containing the user's own names. The reasons come back in Chinese and English for a 422 problem.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib.resources import files

MIN_LENGTH = 10
MAX_LENGTH = 128
MIN_DISTINCT = 5  # "aaaaaaaaaa" and "          x" are as long as the rule asks and guessed at once
MIN_NAME = 3  # a shorter Latin name ("li") is part of too many good passwords to refuse them all; a Chinese one: 2


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The common passwords, lower case (loaded once, on first use: ~20,000 short strings)."""
    raw = files("service").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(line.strip() for line in gzip.decompress(raw).decode().splitlines() if line.strip())


def password_problem(password: str, *names: str | None) -> tuple[str, str] | None:
    """Why a password is unacceptable (zh, en), or None. `names` are the user's own: the user name, a person's name."""
    if len(password) > MAX_LENGTH:
        return f"密码不能超过 {MAX_LENGTH} 个字符。", f"The password may have at most {MAX_LENGTH} characters."
    core = password.strip()
    if len(core) < MIN_LENGTH:
        return (
            f"密码至少需要 {MIN_LENGTH} 个字符（首尾空格不计）。",
            f"The password needs at least {MIN_LENGTH} characters (leading and trailing spaces do not count).",
        )
    if len(set(core)) < MIN_DISTINCT:
        return (
            f"密码至少需要 {MIN_DISTINCT} 个不同的字符。",
            f"The password needs at least {MIN_DISTINCT} different characters.",
        )
    if core.lower() in common_passwords():
        return (
            "该密码过于常见，容易被猜中，请换一个。",
            "This password is too common and easily guessed; choose another.",
        )
    lowered = core.casefold()
    for name in filter(None, (n.strip().casefold() if n else "" for n in names)):
        if len(name) >= (MIN_NAME if name.isascii() else 2) and name in lowered:
            return "密码不能包含用户名或本人姓名。", "The password must not contain the user name or the person's name."
    return None
