"""What makes two requests the same for an Idempotency-Key."""

from app.services.idempotency import Fingerprint


def test_json_bodies_compare_as_values() -> None:
    first = Fingerprint.of("POST", "/v2/support-tickets/", b'{"a": 1, "b": [2, 3]}')
    second = Fingerprint.of("POST", "/v2/support-tickets", b'{"b":[2,3],"a":1}')

    assert first == second


def test_a_different_value_path_or_method_is_a_different_request() -> None:
    base = Fingerprint.of("POST", "/v2/support-tickets/", b'{"a": 1}')

    assert Fingerprint.of("POST", "/v2/support-tickets/", b'{"a": 2}') != base
    assert (
        Fingerprint.of("POST", "/v2/support-tickets/1/comments/", b'{"a": 1}') != base
    )
    assert Fingerprint.of("PUT", "/v2/support-tickets/", b'{"a": 1}') != base


def test_bodies_that_are_not_json_compare_as_bytes() -> None:
    assert Fingerprint.of("POST", "/x", b"{") == Fingerprint.of("POST", "/x", b"{")
    assert Fingerprint.of("POST", "/x", b"{") != Fingerprint.of("POST", "/x", b"{ ")
