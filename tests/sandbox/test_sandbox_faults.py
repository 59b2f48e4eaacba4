"""Random failures: a seeded share of answers 500 and 503, after any scheduled fault."""

from __future__ import annotations

import pytest

from intercom_mirror.sandbox.faults import Faults
from intercom_mirror.sandbox.testing import make_app


@pytest.fixture
def app(clock):
    return make_app(clock, users=5, leads=1, conversations=1, rate_limit=None)  # thousands of requests here


def statuses(app, client, n: int) -> list[int]:
    return [client.get("/tags").status_code for _ in range(n)]


def test_it_fails_about_the_share_asked_for_with_each_status(app, client):
    app.faults.random_failures(rate_500=0.02, rate_503=0.02, seed=3)
    answers = statuses(app, client, 2000)
    assert set(answers) == {200, 500, 503}
    assert 20 <= answers.count(500) <= 60 and 20 <= answers.count(503) <= 60  # 40 each expected
    assert app.faults.random_failed == {500: answers.count(500), 503: answers.count(503)}


def test_it_fails_the_same_requests_for_the_same_seed(app, client):
    app.faults.random_failures(rate_500=0.1, rate_503=0.1, seed=42)
    first = statuses(app, client, 200)
    app.faults.random_failures(rate_500=0.1, rate_503=0.1, seed=42)
    assert statuses(app, client, 200) == first
    app.faults.random_failures(rate_500=0.1, rate_503=0.1, seed=43)
    assert statuses(app, client, 200) != first


def test_scheduled_faults_come_first_and_clear_stops_the_random_ones(app, client):
    app.faults.random_failures(rate_500=1.0, rate_503=0.0, seed=1)
    app.faults.rate_limit_burst(1)
    assert statuses(app, client, 2) == [429, 500]
    app.faults.clear()
    assert statuses(app, client, 20) == [200] * 20


def test_it_answers_random_failures_as_error_lists(app, client):
    app.faults.random_failures(rate_500=0.0, rate_503=1.0, seed=1)
    body = client.get("/tags").json()
    assert body["type"] == "error.list" and body["errors"][0]["code"] == "service_unavailable"


@pytest.mark.parametrize("rates", [(-0.1, 0.0), (0.0, 1.5), (0.6, 0.5)])
def test_it_refuses_rates_that_are_not_shares(rates):
    with pytest.raises(ValueError, match="rates must be between 0 and 1"):
        Faults().random_failures(*rates)
