"""The global ``[cors]`` policy: which configured entries are origins, and what is allowed."""
from __future__ import annotations

import logging

import pytest

from orion_kernel.http.cors import CorsPolicy, origin_problem


@pytest.mark.parametrize("origin", ["https://app.example.com", "http://localhost:3000", "http://127.0.0.1:8080",
                                    "https://[::1]:8443", "chrome-extension://abcdef"])
def test_origins(origin):
    assert origin_problem(origin) is None


@pytest.mark.parametrize(("origin", "fragment"), [
    ("app.example.com", "scheme://host[:port]"),
    ("https://app.example.com/", "did you mean 'https://app.example.com'"),
    ("https://app.example.com/x?y=1", "no path"),
    ("https://user@app.example.com", "did you mean 'https://app.example.com'"),
    ("https://app.example.com:port", "Port could not be cast"),
    ("https://app .example.com", "scheme://host"),
    ("*", "only as the whole list"),
    ("", "scheme://host"),
])
def test_not_origins(origin, fragment):
    assert fragment in origin_problem(origin)


def test_wildcard_alone_is_permissive():
    policy = CorsPolicy(["*"])
    assert policy.permissive and policy.allows("https://anything.example")


def test_allow_list_ignores_bad_entries_with_a_warning_and_compares_in_lower_case(caplog):
    with caplog.at_level(logging.WARNING, "orion.http.cors"):
        policy = CorsPolicy(["https://App.Example.com", "https://b.example/", "*"])
    assert not policy.permissive
    assert policy.allowed == {"https://app.example.com"}
    assert policy.allows("https://app.example.com") and not policy.allows("https://b.example")
    assert len(caplog.records) == 2


def test_an_empty_list_allows_no_origin():
    assert not CorsPolicy([]).allows("https://app.example.com")
