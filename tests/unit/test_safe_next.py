"""`next` redirects stay on this site."""

from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinic.auth.access import is_safe_next


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/techniques", True),  # a path here
        ("/account?tab=1#x", True),  # with query and fragment
        (None, False),  # nothing
        ("", False),  # empty
        ("https://evil.example/", False),  # another site
        ("//evil.example/path", False),  # protocol-relative
        ("/\\evil.example", False),  # backslash, read as // by some browsers
        ("\\\\evil.example", False),  # backslashes only
        ("javascript:alert(1)", False),  # a script URL
        ("techniques", False),  # relative path
        ("/\t/evil.example", False),  # control character that browsers strip
    ],
)
def test_table(target, safe):
    assert is_safe_next(target) is safe


@given(st.text(max_size=60))
def test_anything_accepted_has_no_scheme_or_host(target):
    if is_safe_next(target):
        parts = urlsplit(target)
        assert not parts.scheme and not parts.netloc
        assert target.startswith("/") and not target.startswith("//")
