"""Pure seat rules."""

from contracts.seats import SeatDenied, SeatLimitChanged, SeatLimitReached, SeatReleased, SeatReserved
from services.seats import domain


def test_a_free_seat_is_taken_and_the_last_one_is_announced() -> None:
    assert domain.reserve(domain.SeatState(user_id="u", holds=False, used=3, limit=5)) == (
        True,
        [SeatReserved(user_id="u", used=4, limit=5)],
    )
    assert domain.reserve(domain.SeatState(user_id="u", holds=False, used=4, limit=5)) == (
        True,
        [SeatReserved(user_id="u", used=5, limit=5), SeatLimitReached(used=5, limit=5)],
    )


def test_no_seat_beyond_the_limit() -> None:
    assert domain.reserve(domain.SeatState(user_id="u", holds=False, used=5, limit=5)) == (
        False,
        [SeatDenied(user_id="u", used=5, limit=5)],
    )
    # a limit lowered below usage refuses new seats, but takes none away
    assert domain.reserve(domain.SeatState(user_id="u", holds=False, used=7, limit=5))[0] is False


def test_a_held_seat_is_never_counted_twice() -> None:
    assert domain.reserve(domain.SeatState(user_id="u", holds=True, used=5, limit=5)) == (
        False,
        [SeatReserved(user_id="u", used=5, limit=5)],
    )


def test_release_frees_only_a_held_seat() -> None:
    assert domain.release(domain.SeatState(user_id="u", holds=True, used=5, limit=5)) == (
        True,
        [SeatReleased(user_id="u", used=4, limit=5)],
    )
    assert domain.release(domain.SeatState(user_id="u", holds=False, used=5, limit=5)) == (False, [])


def test_changing_the_limit_deprovisions_nobody() -> None:
    assert domain.change_limit(used=7, limit=5) == [SeatLimitChanged(used=7, limit=5)]
    assert domain.change_limit(used=5, limit=5) == [
        SeatLimitChanged(used=5, limit=5),
        SeatLimitReached(used=5, limit=5),
    ]
