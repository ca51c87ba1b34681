"""The password rules (service.passwords) and the client address a sign-in counts on (service.clientaddress)."""

from __future__ import annotations

import ipaddress

import pytest

from service.clientaddress import client_address, parse_networks
from service.demo import DEMO_USERS
from service.passwords import common_passwords, password_problem


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("12345678", "at least 10 characters"),  # the red team's admin password
        (" " * 8, "at least 10 characters"),
        (" " * 12, "at least 10 characters"),  # spaces around do not count
        ("   abcdefg   ", "at least 10 characters"),
        ("aaaaaaaaaaaa", "different characters"),
        ("1234567890", "too common"),
        ("QWERTYUIOP", "too common"),  # the list is compared in lower case
        ("1qaz2wsx3edc", "too common"),
        ("woaini1314", "too common"),
        ("x" * 129, "at most 128"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password, why):
    problem = password_problem(password)
    assert problem is not None and why in problem[1], problem
    assert all("\u4e00" <= ch <= "\u9fff" for ch in problem[0] if ch.isalpha() and not ch.isascii())  # zh text


def test_a_password_must_not_contain_the_users_own_names():
    assert password_problem("clerk-Wang-2026!", "wang") is not None  # case does not help
    assert password_problem("我是张三的密码很长", "someone", "张三") is not None  # a Chinese name of two characters
    assert password_problem("li-river-stone-9", "li") is None  # a two-letter Latin name is too common to refuse
    assert password_problem("correct-horse-battery", "officer", None, "") is None


def test_the_list_is_shipped_and_the_demo_password_keeps_every_rule():
    assert len(common_passwords()) > 19_000 and "password" in common_passwords()
    for user in DEMO_USERS:
        assert password_problem(user.password, user.username) is None, user
    assert {u.password for u in DEMO_USERS} == {"zizhu-demo"}


PROXIES = parse_networks("127.0.0.1, 10.0.0.0/8, ::1")


def test_forwarded_for_is_believed_only_from_a_trusted_proxy():
    assert client_address("203.0.113.9", "198.51.100.1", ()) == "203.0.113.9"  # no proxies trusted: the default
    assert client_address("203.0.113.9", "198.51.100.1", PROXIES) == "203.0.113.9"  # the peer is no proxy of ours
    assert client_address("127.0.0.1", "198.51.100.1", PROXIES) == "198.51.100.1"
    # each proxy appends what it saw: the client may have forged the left end; the nearest untrusted hop is the client
    assert client_address("127.0.0.1", "1.1.1.1, 198.51.100.1, 10.2.3.4", PROXIES) == "198.51.100.1"
    assert client_address("127.0.0.1", "not-an-address", PROXIES) == "127.0.0.1"
    assert client_address("127.0.0.1", "10.0.0.1, 10.0.0.2", PROXIES) == "10.0.0.1"  # all ours: the farthest
    assert client_address(None, None, PROXIES) == "unknown"
    assert client_address("::1", "2001:db8::1", PROXIES) == "2001:db8::1"


def test_trusted_proxies_parse_addresses_and_networks():
    assert parse_networks("") == ()
    assert parse_networks(" 192.0.2.1 ,10.0.0.0/8") == (
        ipaddress.ip_network("192.0.2.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
    )
    with pytest.raises(ValueError):
        parse_networks("proxy.example")
