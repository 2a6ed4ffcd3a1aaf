"""Reviews and engagement answers, and the KPIs read from them (contract §12; pure).

``ReviewBook`` keeps the latest review per ``review_id`` and the latest engagement answer
per (team, month, respondent), each by ``occurred_at`` (ties: the greater ``event_id``),
and computes:

- ``review_score`` of a rep over the months of a period: the mean rating of each role
  present, weighted manager 0.5, peer 0.3, customer 0.2 and renormalised over the roles
  present. Peers count only with at least ``MIN_PEERS`` distinct reviewers over the whole
  period; ``self`` never counts and is returned apart as ``self_rating``. A quarter or a
  year pools every review of its months: each role's mean is over all of them.
- ``review_coverage`` of a set of members: the share with at least one manager review in
  the period's months.
- ``team_engagement`` of a set of teams: the mean of each respondent's latest rating in the
  period's months (over the teams, for the company), None below ``MIN_RESPONDENTS``.

Nothing here hands out one engagement answer or a respondent id: only means and counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from .money import CONTEXT

#: Role weights of ``review_score``; ``self`` is not among them.
ROLE_WEIGHTS: Mapping[str, Decimal] = MappingProxyType(
    {"manager": Decimal("0.5"), "peer": Decimal("0.3"), "customer": Decimal("0.2")})
SELF = "self"
#: Peers count only with at least this many distinct reviewers in the period.
MIN_PEERS = 3
#: ``team_engagement`` is null below this many respondents.
MIN_RESPONDENTS = 3


@dataclass(frozen=True, slots=True)
class Review:
    """What is kept of a review: its version order and the fields the KPIs read."""

    occurred_at: datetime
    event_id: str
    month: str
    subject_id: str
    reviewer_id: str
    role: str
    rating: Decimal


@dataclass(frozen=True, slots=True)
class Answer:
    """What is kept of an engagement answer (never shown on its own)."""

    occurred_at: datetime
    event_id: str
    rating: Decimal


@dataclass(frozen=True, slots=True)
class ReviewScore:
    """A rep's ``review_score`` and what it is made of."""

    score: Decimal | None
    self_rating: Decimal | None
    #: role -> (reviews, distinct reviewers, mean), for the roles reviewed (self included)
    roles: dict[str, tuple[int, int, Decimal]]
    #: the roles the score is made of (peers left out below ``MIN_PEERS`` reviewers)
    counted: tuple[str, ...]


def _mean(values: list[Decimal]) -> Decimal | None:
    if not values:
        return None
    return CONTEXT.divide(sum(values, Decimal(0)), Decimal(len(values)))


class ReviewBook:
    """The latest review of each review id and the latest engagement answer of each
    respondent, by team and month."""

    def __init__(self) -> None:
        #: review_id -> the latest review
        self.reviews: dict[str, Review] = {}
        #: (subject_id, month) -> review ids about the subject in the month
        self._by_subject: dict[tuple[str, str], set[str]] = {}
        #: month -> team_id -> respondent_id -> the latest answer
        self._answers: dict[str, dict[str, dict[str, Answer]]] = {}
        #: month -> subject_id -> how many manager reviews of the subject the month holds
        #: (``manager_reviewed`` reads it on every team and company render)
        self._managed: dict[str, dict[str, int]] = {}

    # ------------------------------------------------------------------ apply
    def put_review(self, review_id: str, review: Review) -> tuple[bool, Review | None]:
        """Keep ``review`` unless a later version (by occurred_at, then event_id) is kept;
        returns (applied, the version it replaced)."""
        old = self.reviews.get(review_id)
        if old is not None and (review.occurred_at, review.event_id) <= (old.occurred_at, old.event_id):
            return False, old
        if old is not None:
            ids = self._by_subject[(old.subject_id, old.month)]
            ids.discard(review_id)
            if not ids:
                del self._by_subject[(old.subject_id, old.month)]
            self._count_manager(old, -1)
        self.reviews[review_id] = review
        self._by_subject.setdefault((review.subject_id, review.month), set()).add(review_id)
        self._count_manager(review, +1)
        return True, old

    def _count_manager(self, review: Review, sign: int) -> None:
        if review.role != "manager":
            return
        subjects = self._managed.setdefault(review.month, {})
        n = subjects.get(review.subject_id, 0) + sign
        if n:
            subjects[review.subject_id] = n
        else:
            del subjects[review.subject_id]
            if not subjects:
                del self._managed[review.month]

    def put_answer(self, team_id: str, month: str, respondent_id: str, answer: Answer) -> tuple[bool, Answer | None]:
        """Keep ``answer`` unless a later answer of the respondent is kept; returns
        (applied, the answer kept before)."""
        answers = self._answers.setdefault(month, {}).setdefault(team_id, {})
        old = answers.get(respondent_id)
        if old is not None and (answer.occurred_at, answer.event_id) <= (old.occurred_at, old.event_id):
            return False, old
        answers[respondent_id] = answer
        return True, old

    # ------------------------------------------------------------------ KPIs
    def _reviews_of(self, subject_id: str, months: Iterable[str]) -> list[Review]:
        reviews, by_subject = self.reviews, self._by_subject
        return [reviews[r] for month in months for r in by_subject.get((subject_id, month), ())]

    def review_score(self, subject_id: str, months: Iterable[str]) -> ReviewScore:
        """The rep's ``review_score`` and ``self_rating`` over ``months`` (see the module)."""
        by_role: dict[str, list[Review]] = {}
        for review in self._reviews_of(subject_id, months):
            by_role.setdefault(review.role, []).append(review)
        roles: dict[str, tuple[int, int, Decimal]] = {}
        for role, reviews in sorted(by_role.items()):
            mean = _mean([r.rating for r in reviews])
            assert mean is not None  # a role listed has a review
            roles[role] = (len(reviews), len({r.reviewer_id for r in reviews}), mean)
        counted = tuple(role for role in ROLE_WEIGHTS if role in roles
                        and (role != "peer" or roles[role][1] >= MIN_PEERS))
        score = None
        if counted:
            weights = sum((ROLE_WEIGHTS[r] for r in counted), Decimal(0))
            weighted = sum((CONTEXT.multiply(ROLE_WEIGHTS[r], roles[r][2]) for r in counted), Decimal(0))
            score = CONTEXT.divide(weighted, weights)
        self_rating = roles[SELF][2] if SELF in roles else None
        return ReviewScore(score, self_rating, roles, counted)

    def manager_reviewed(self, members: Iterable[str], months: Iterable[str]) -> int:
        """How many of ``members`` have at least one manager review in ``months``."""
        reviewed = [subjects for month in months if (subjects := self._managed.get(month))]
        if not reviewed:
            return 0
        if len(reviewed) == 1:
            return sum(1 for member in members if member in reviewed[0])
        return sum(1 for member in members if any(member in subjects for subjects in reviewed))

    def engagement(self, teams: Iterable[str] | None, months: Iterable[str]) -> tuple[int, Decimal | None]:
        """(respondents, ``team_engagement``) of ``teams`` (None: every team) over ``months``:
        each respondent's latest rating in the period, the mean None below ``MIN_RESPONDENTS``."""
        wanted = None if teams is None else set(teams)
        latest: dict[str, Answer] = {}
        for month in months:
            for team, answers in self._answers.get(month, {}).items():
                if wanted is not None and team not in wanted:
                    continue
                for respondent, answer in answers.items():
                    kept = latest.get(respondent)
                    if kept is None or (answer.occurred_at, answer.event_id) > (kept.occurred_at, kept.event_id):
                        latest[respondent] = answer
        count = len(latest)
        if count < MIN_RESPONDENTS:
            return count, None
        return count, _mean([a.rating for a in latest.values()])


def review_coverage(reviewed: int, members: int) -> Decimal | None:
    """Share of the members with a manager review; None without members."""
    return CONTEXT.divide(Decimal(reviewed), Decimal(members)) if members else None
