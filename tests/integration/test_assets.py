"""The pages' style sheets, scripts and images: named by their content's hash, kept by browsers
for a year (logged in or not), and a new name as soon as the content changes."""

from __future__ import annotations

import gzip
import re
import shutil

import pytest

from clinic import assets
from tests.support import login

LINKED = re.compile(r'(?:href|src)="(/assets/[^"]+)"')


def linked_files(html: str) -> list[str]:
    return LINKED.findall(html)


def test_every_page_loads_its_files_by_hashed_name_and_nothing_else(client):
    html = client.get("/").get_data(as_text=True)
    files = linked_files(html)
    assert [re.sub(r"\.[0-9a-f]{10}\.", ".#.", f) for f in files] == [
        "/assets/bootstrap/css/bootstrap.min.#.css",
        "/assets/static/css/lindring.#.css",
        "/assets/static/img/favicon.#.svg",
        "/assets/bootstrap/umd/popper.min.#.js",
        "/assets/bootstrap/js/bootstrap.min.#.js",
    ]
    assert not re.search(r'(?:href|src)="/(?:static|bootstrap/static)/', html)


def test_a_hashed_file_is_kept_for_a_year_even_by_a_logged_in_browser(client, make_user):
    make_user(email="maja@example.com")
    login(client, "maja@example.com")
    page = client.get("/")
    assert page.headers["Cache-Control"] == "no-store"  # the page is private
    for url in linked_files(page.get_data(as_text=True)):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable", url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        response.close()


def test_the_file_under_its_name_is_the_file_itself(client):
    url = next(u for u in linked_files(client.get("/").get_data(as_text=True)) if "lindring" in u)
    response = client.get(url)
    assert response.data == (assets.ROOTS["static"] / "css" / "lindring.css").read_bytes()
    assert response.mimetype == "text/css"
    response.close()


@pytest.mark.parametrize(
    "url",
    [
        "/assets/static/css/lindring.0000000000.css",  # another version's hash
        "/assets/static/css/lindring.css",  # no hash
        "/assets/static/css/nothing.0000000000.css",
        "/assets/elsewhere/css/lindring.0000000000.css",  # not one of the two folders
        "/assets/static/../clinic/config.0000000000.py",
        "/assets/static/%2e%2e/clinic/config.0000000000.py",
    ],
)
def test_anything_else_is_not_found(client, url):
    assert client.get(url).status_code == 404


def test_a_changed_file_gets_a_new_name_and_the_old_one_is_gone(app, client, tmp_path, monkeypatch):
    static = tmp_path / "static"
    shutil.copytree(assets.ROOTS["static"], static)
    monkeypatch.setitem(assets.ROOTS, "static", static)
    before = next(
        u for u in linked_files(client.get("/").get_data(as_text=True)) if "lindring" in u
    )
    (static / "css" / "lindring.css").write_text("body { color: black; }\n", encoding="utf-8")
    after = next(u for u in linked_files(client.get("/").get_data(as_text=True)) if "lindring" in u)
    assert before != after
    assert client.get(before).status_code == 404
    response = client.get(after)
    assert response.data == b"body { color: black; }\n"
    response.close()


# The budget of the booking page's CSS and JavaScript, gzip-compressed (what a proxy with gzip
# on sends): 56,740 bytes today, Bootstrap's own files being nine tenths of it.
BOOKING_PAGE_BUDGET = 64 * 1024


def test_the_booking_pages_files_stay_within_their_budget(client):
    """A file added to the layout, or a heavier one, fails here before it reaches a phone."""
    html = client.get("/book").get_data(as_text=True)
    sizes = {}
    for url in linked_files(html):
        if url.endswith((".css", ".js")):
            response = client.get(url)
            sizes[url.rsplit("/", 1)[1]] = (len(response.data), len(gzip.compress(response.data)))
            response.close()
    compressed = sum(c for _, c in sizes.values())
    assert len(sizes) == 4, sizes  # two style sheets, two scripts
    assert compressed <= BOOKING_PAGE_BUDGET, sizes
