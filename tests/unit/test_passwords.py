"""The password policy: length, the common-password list, personal details."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinic.auth.passwords import MAX_LENGTH, MIN_LENGTH, is_common, policy_problem


@pytest.mark.parametrize(
    ("password", "problem_contains"),
    [
        ("short pass", "at least 12"),  # 10 characters
        ("x" * (MAX_LENGTH + 1), "at most"),  # past the cap
        ("qwerty123456", "too common"),  # on the list as it is
        ("QWERTY123456", "too common"),  # case does not hide it
        ("sunshine2024!!", "too common"),  # a common word with digits stuck on
        ("passwordpassword", "too common"),  # a common word repeated
        ("123456789012", "too common"),  # digits only
        ("ida.berg@example.com", "name or e-mail"),  # the e-mail itself
    ],
)
def test_refused(password, problem_contains):
    problem = policy_problem(password, email="ida.berg@example.com", name="Ida Berg")
    assert problem is not None
    assert problem_contains in problem


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",  # a passphrase
        "a" * 1 + "Zq7!mK2#pL9@",  # 13 random-looking characters
        "p" + "k3J!x" * 12 + "Q",  # 62 characters
        "Æblegrød med fløde 42",  # non-ASCII letters
        "y8#Lq2!vN4&m" + "T" * (MAX_LENGTH - 12),  # exactly the maximum
    ],
)
def test_accepted(password):
    assert policy_problem(password, email="ida@example.com", name="Ida Berg") is None


def test_sixty_four_characters_are_allowed():
    assert MAX_LENGTH >= 64
    assert policy_problem("river stone " * 5 + "moss", email="a@b.dk") is None


@given(st.text(min_size=0, max_size=MIN_LENGTH - 1))
def test_anything_shorter_than_the_minimum_is_refused(password):
    assert policy_problem(password) == f"Use at least {MIN_LENGTH} characters."


@given(st.text(min_size=MIN_LENGTH, max_size=MAX_LENGTH))
def test_long_enough_passwords_are_refused_only_for_a_stated_reason(password):
    problem = policy_problem(password)
    assert problem is None or "common" in problem


def test_common_list_is_large():
    # zxcvbn's list: if the dependency changed and lost it, the policy would silently weaken.
    assert is_common("password")
    assert is_common("iloveyou")
    assert not is_common("vindue-kaffe-cykel-regn")
