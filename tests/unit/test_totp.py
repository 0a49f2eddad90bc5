"""The pure two-factor helpers: which step a code belongs to, replay, the kept secret, the QR
code and the recovery codes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinic.auth import totp
from clinic.auth.two_factor import admin_rule_on
from clinic.config import ConfigError, load_config

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
MOMENT = datetime(2027, 3, 22, 6, 0, 10, tzinfo=UTC)  # 10 s into its 30-second step
STEP = totp.step_at(MOMENT)


def code(moment: datetime) -> str:
    return pyotp.TOTP(SECRET).at(moment)


def test_codes_match_what_an_authenticator_app_shows():
    assert totp.code_at(SECRET, STEP) == code(MOMENT)
    assert totp.matching_step(SECRET, code(MOMENT), MOMENT, None) == STEP


@pytest.mark.parametrize(
    ("shift", "expected"),
    [
        (timedelta(seconds=-30), STEP - 1),  # the phone is a step behind: accepted
        (timedelta(seconds=30), STEP + 1),  # a step ahead: accepted
        (timedelta(seconds=-60), None),  # two steps behind: too old
        (timedelta(seconds=60), None),  # two steps ahead
    ],
)
def test_one_step_either_way_is_accepted_and_no_more(shift, expected):
    assert totp.matching_step(SECRET, code(MOMENT + shift), MOMENT, None) == expected


def test_a_code_of_a_step_already_used_or_before_it_is_refused():
    assert totp.matching_step(SECRET, code(MOMENT), MOMENT, STEP) is None
    assert totp.matching_step(SECRET, code(MOMENT - timedelta(seconds=30)), MOMENT, STEP) is None
    # The next step's code is still good after this one was used.
    later = MOMENT + timedelta(seconds=30)
    assert totp.matching_step(SECRET, code(later), later, STEP) == STEP + 1


@pytest.mark.parametrize("typed", ["123 456", "123-456", " 123456 "])
def test_spaces_and_dashes_in_a_typed_code_do_not_matter(typed):
    assert totp.normalise_code(typed) == "123456"


@given(st.text(max_size=80))
def test_any_typed_text_is_an_answer_never_an_error(typed):
    found = totp.matching_step(SECRET, typed, MOMENT, None)
    assert found is None or totp.normalise_code(typed) == totp.code_at(SECRET, found)


# Arabic-Indic digits, one full-width digit, all full-width: digits to str.isdigit, not codes.
@given(st.sampled_from(["\u0661\u0662\u0663\u0664\u0665\u0666", "12345\uff16", "\uff11" * 6]))
def test_non_ascii_digits_are_not_a_code(typed):
    assert not totp.looks_like_totp(totp.normalise_code(typed))


def test_the_secret_is_kept_encrypted_and_only_this_key_reads_it():
    stored = totp.encrypt_secret(SECRET, "key one")
    assert SECRET not in stored and SECRET.lower() not in stored.lower()
    assert totp.decrypt_secret(stored, "key one") == SECRET
    with pytest.raises(totp.SecretUnreadable):
        totp.decrypt_secret(stored, "another key")
    with pytest.raises(totp.SecretUnreadable):
        totp.decrypt_secret("not a token", "key one")


def test_new_secrets_are_fresh_base32_of_160_bits():
    first, second = totp.new_secret(), totp.new_secret()
    assert first != second
    assert len(base64.b32decode(first)) == 20


def test_the_qr_code_is_an_svg_image_without_styles_or_scripts():
    uri = totp.provisioning_uri(SECRET, "ida@example.com", "Demo clinic")
    assert uri.startswith("otpauth://totp/Demo%20clinic:ida%40example.com?secret=" + SECRET)
    data = totp.qr_svg_data_uri(uri)
    prefix = "data:image/svg+xml;base64,"
    assert data.startswith(prefix)
    svg = base64.b64decode(data[len(prefix) :]).decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "<path" in svg
    assert "style" not in svg and "<script" not in svg and "href" not in svg


def test_the_secret_is_shown_in_groups_of_four():
    assert totp.grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"


def test_recovery_codes_are_ten_distinct_and_stored_as_hashes_that_ignore_layout():
    codes = totp.new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    for one in codes:
        assert totp.looks_like_recovery_code(one)
        assert len(one) == 19 and one.count("-") == 3
        digest = totp.hash_recovery_code(one)
        assert len(digest) == 64 and one not in digest
        assert totp.hash_recovery_code(one.upper().replace("-", " ")) == digest
    assert not totp.looks_like_recovery_code("123456")


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({"LINDRING_ENV": "production", "SECRET_KEY": "k"}, True),  # the default: on
        ({"LINDRING_ENV": "development"}, True),
        ({"LINDRING_ENV": "testing"}, False),  # the suite's demo admin logs in with a password
        ({"LINDRING_ENV": "testing", "ADMIN_TWO_FACTOR_REQUIRED": "yes"}, True),
        (
            {"LINDRING_ENV": "production", "SECRET_KEY": "k", "ADMIN_TWO_FACTOR_REQUIRED": "0"},
            False,
        ),
    ],
)
def test_the_admin_rule_is_on_unless_testing_or_switched_off(environ, on):
    assert admin_rule_on(load_config(environ)) is on


def test_the_admin_rule_setting_refuses_a_value_that_is_not_yes_or_no():
    with pytest.raises(ConfigError):
        load_config({"ADMIN_TWO_FACTOR_REQUIRED": "sometimes"})
