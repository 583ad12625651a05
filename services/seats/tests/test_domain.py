"""Pure seat rules."""

from hypothesis import given
from hypothesis import strategies as st

from contracts.seats import (
    SeatAllowanceGranted,
    SeatDenied,
    SeatLimitChanged,
    SeatLimitReached,
    SeatReleased,
    SeatReserved,
)
from services.seats import domain
from services.seats.domain import Reservation, SeatState


def test_a_free_seat_is_taken_and_the_last_one_is_announced() -> None:
    assert domain.reserve(SeatState(user_id="u", holds=False, used=3, limit=5)) == Reservation(
        True, 0, [SeatReserved(user_id="u", used=4, limit=5)]
    )
    assert domain.reserve(SeatState(user_id="u", holds=False, used=4, limit=5)) == Reservation(
        True, 0, [SeatReserved(user_id="u", used=5, limit=5), SeatLimitReached(used=5, limit=5)]
    )


def test_no_seat_beyond_the_limit() -> None:
    assert domain.reserve(SeatState(user_id="u", holds=False, used=5, limit=5)) == Reservation(
        False, 0, [SeatDenied(user_id="u", used=5, limit=5)]
    )
    # a limit lowered below usage refuses new seats, but takes none away
    assert domain.reserve(SeatState(user_id="u", holds=False, used=7, limit=5)).take is False


def test_a_held_seat_is_never_counted_twice() -> None:
    assert domain.reserve(SeatState(user_id="u", holds=True, used=5, limit=5), block=10) == Reservation(
        False, 0, [SeatReserved(user_id="u", used=5, limit=5)]
    )


def test_a_reservation_sets_aside_up_to_half_of_the_seats_still_free() -> None:
    granted = domain.reserve(SeatState(user_id="u", holds=False, used=0, limit=100), block=50)
    assert granted == Reservation(
        True, 49, [SeatAllowanceGranted(amount=49), SeatReserved(user_id="u", used=1, limit=100)]
    )
    assert domain.reserve(SeatState(user_id="u", holds=False, used=0, limit=1000), block=50).grant == 50
    assert (
        domain.reserve(SeatState(user_id="u", holds=False, used=10, limit=100, allowance=80), block=50).grant
        == 4
    )
    # the last free seats are decided one at a time, and a block of 0 sets nothing aside
    assert domain.reserve(SeatState(user_id="u", holds=False, used=97, limit=100), block=50).grant == 1
    assert domain.reserve(SeatState(user_id="u", holds=False, used=98, limit=100), block=50).grant == 0
    assert domain.reserve(SeatState(user_id="u", holds=False, used=0, limit=100), block=0).grant == 0


def test_nothing_is_set_aside_while_a_recall_is_on_its_way() -> None:
    state = SeatState(user_id="u", holds=False, used=0, limit=100, recalling=True)
    assert domain.reserve(state, block=50) == Reservation(
        True, 0, [SeatReserved(user_id="u", used=1, limit=100)]
    )


def test_an_allowed_seat_leaves_the_allowance_and_none_outstanding_never_goes_negative() -> None:
    assert domain.allowance_after_take(allowance=3) == 2
    assert domain.allowance_after_take(allowance=0) == 0


def test_a_refusal_counts_the_allowance_as_in_use() -> None:
    assert domain.reserve(SeatState(user_id="u", holds=False, used=3, limit=5, allowance=2)) == Reservation(
        False, 0, [SeatDenied(user_id="u", used=5, limit=5)]
    )


@given(
    used=st.integers(0, 200),
    allowance=st.integers(0, 200),
    limit=st.integers(0, 200),
    block=st.integers(0, 100),
)
def test_seats_held_and_set_aside_never_exceed_the_limit_by_a_decision(
    used: int, allowance: int, limit: int, block: int
) -> None:
    state = SeatState(user_id="u", holds=False, used=used, limit=limit, allowance=allowance)
    decision = domain.reserve(state, block=block)
    after = used + decision.take + allowance + decision.grant
    assert after <= max(limit, used + allowance)  # nothing new beyond the limit
    assert decision.grant >= 0


def test_an_allowed_seat_becomes_the_users_unless_they_hold_one() -> None:
    state = SeatState(user_id="u", holds=False, used=4, limit=5, allowance=1)
    assert domain.take_allowed(state) == (
        True,
        [SeatReserved(user_id="u", used=5, limit=5, from_allowance=True), SeatLimitReached(used=5, limit=5)],
    )
    assert domain.take_allowed(SeatState(user_id="u", holds=True, used=4, limit=5, allowance=1)) == (
        False,
        [],
    )


def test_a_return_leaves_nothing_set_aside_and_never_a_negative_count() -> None:
    assert domain.allowance_after_return(allowance=7, returned=7) == 0
    assert domain.allowance_after_return(allowance=3, returned=7) == 0
    assert domain.allowance_after_return(allowance=7, returned=3) == 4


def test_a_lower_limit_recalls_an_allowance_it_cannot_fit() -> None:
    assert domain.must_recall(used=40, allowance=20, limit=50) is True
    assert domain.must_recall(used=40, allowance=10, limit=50) is False
    assert domain.must_recall(used=60, allowance=0, limit=50) is False


def test_release_frees_only_a_held_seat() -> None:
    assert domain.release(SeatState(user_id="u", holds=True, used=5, limit=5)) == (
        True,
        [SeatReleased(user_id="u", used=4, limit=5)],
    )
    assert domain.release(SeatState(user_id="u", holds=False, used=5, limit=5)) == (False, [])


def test_changing_the_limit_deprovisions_nobody() -> None:
    assert domain.change_limit(used=7, limit=5) == [SeatLimitChanged(used=7, limit=5)]
    assert domain.change_limit(used=5, limit=5) == [
        SeatLimitChanged(used=5, limit=5),
        SeatLimitReached(used=5, limit=5),
    ]


def test_a_return_with_totals_frees_the_seats_of_grants_that_never_arrived() -> None:
    """15 granted since the last return, 10 received: 5 never arrived. 9 given back, 1 spent and its
    TakeAllowedSeat still on its way: that one stays set aside."""
    book = domain.AllowanceBook(answered_round=1, granted=15, returned=4)
    counted = domain.count_return(allowance=15, book=book, round=2, received_total=10, returned_total=13)
    assert counted == domain.CountedReturn(1, domain.AllowanceBook(2, 10, 13), never_arrived=5)


def test_a_return_older_than_one_counted_changes_nothing() -> None:
    book = domain.AllowanceBook(answered_round=3, granted=0, returned=20)
    assert domain.count_return(allowance=2, book=book, round=2, received_total=9, returned_total=9) is None
    assert domain.count_return(allowance=2, book=book, round=3, received_total=9, returned_total=9) is None


def test_grants_received_but_never_counted_free_nothing_and_nothing_goes_negative() -> None:
    """Grants in flight when the totals began arrive counted by the users service only: nothing is
    freed for them, and a count that would go below zero is a fault kept at zero."""
    fresh = domain.AllowanceBook()
    counted = domain.count_return(allowance=6, book=fresh, round=1, received_total=4, returned_total=6)
    assert counted == domain.CountedReturn(0, domain.AllowanceBook(1, 4, 6), never_arrived=0)
    over = domain.count_return(allowance=1, book=fresh, round=1, received_total=0, returned_total=3)
    assert over is not None and over.allowance == 0


def test_a_repair_recalls_only_an_allowance_there_is_or_a_recall_left_unanswered() -> None:
    assert domain.must_recount(allowance=3, recalling=False) is True
    assert domain.must_recount(allowance=0, recalling=True) is True
    assert domain.must_recount(allowance=0, recalling=False) is False


def test_a_grant_names_the_round_of_recalls_it_belongs_to() -> None:
    state = SeatState(user_id="u", holds=False, used=0, limit=100, round=4)
    assert domain.reserve(state, block=50).events[0] == SeatAllowanceGranted(amount=49, round=4)
