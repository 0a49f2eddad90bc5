"""The app starts on a migrated database and answers."""

from tests.support import login, post_form


def test_healthz_reads_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"  # with the outbox backlog beside it


def test_register_then_login(client, mailbox):
    response = post_form(
        client,
        "/register",
        {
            "name": "Ida Berg",
            "email": "Ida@Example.com",
            "phone": "+45 11 22 33 44",
            "password": "a quiet walk by the sea",
            "confirm": "a quiet walk by the sea",
        },
    )
    assert response.status_code == 302
    assert "Ida Berg" in client.get("/").get_data(as_text=True)
    post_form(client, "/logout", {})
    login(client, "ida@example.com", "a quiet walk by the sea")
