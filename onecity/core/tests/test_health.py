import pytest


def test_healthz_answers_without_database(client):
    # No django_db mark: any query would raise, so this also proves liveness needs no database.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_reports_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_health_endpoints_refuse_writes(client):
    assert client.post("/healthz").status_code == 405
