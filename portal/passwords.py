"""The staff password policy (等保 2.0 身份鉴别): length, character classes, not the
username, not a common password, and a maximum age."""

from __future__ import annotations

import datetime as dt
import string
from functools import lru_cache
from pathlib import Path

from portal.errors import Invalid

MIN_LENGTH = 10
MAX_LENGTH = 128  # Piccolo's limit for BaseUser passwords
CLASSES_NEEDED = 3
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")

# The four classes: lower case, upper case, digits, and everything else (symbols,
# spaces, and characters of other scripts such as Chinese).
_CLASSES = (
    lambda c: c in string.ascii_lowercase,
    lambda c: c in string.ascii_uppercase,
    lambda c: c in string.digits,
    lambda c: not (c in string.ascii_letters or c in string.digits),
)

RULES = (
    f"至少 {MIN_LENGTH} 个字符，须含大写字母、小写字母、数字、符号中的至少 {CLASSES_NEEDED} 类，"
    "不能与用户名相同或包含用户名，也不能是常见密码。"
)


class PasswordRefused(Invalid):
    """The password does not meet the policy; the message says which rule (zh-CN)."""


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and line[0] != "#")


def character_classes(password: str) -> int:
    return sum(any(test(c) for c in password) for test in _CLASSES)


def check_password(password: str, username: str = "") -> None:
    """Raise ``PasswordRefused`` unless ``password`` meets the policy for ``username``."""
    if len(password) < MIN_LENGTH:
        raise PasswordRefused(f"密码至少需要 {MIN_LENGTH} 个字符。")
    if len(password) > MAX_LENGTH:
        raise PasswordRefused(f"密码不能超过 {MAX_LENGTH} 个字符。")
    if character_classes(password) < CLASSES_NEEDED:
        raise PasswordRefused(
            f"密码须含大写字母、小写字母、数字、符号中的至少 {CLASSES_NEEDED} 类。"
        )
    name = username.strip().lower()
    if name and (name in password.lower() or password.lower() in name):
        raise PasswordRefused("密码不能与用户名相同，也不能包含用户名。")
    if password.lower() in common_passwords():
        raise PasswordRefused("这是一个常见密码，容易被猜中，请换一个。")


def expired(changed_at: dt.datetime | None, max_age_days: int, now: dt.datetime) -> bool:
    """Whether a password set at ``changed_at`` is older than the policy allows (a
    password from before the policy, ``None``, counts from the policy's start: never
    expired here; it must be changed at its first change)."""
    if changed_at is None:
        return False
    if changed_at.tzinfo is None:
        changed_at = changed_at.replace(tzinfo=dt.UTC)
    return now - changed_at > dt.timedelta(days=max_age_days)
