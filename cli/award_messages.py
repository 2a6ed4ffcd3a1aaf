"""The chat message announcing an award (contract §11), in English or 中文.

One message per award and period names the award, the period, every winner (a tie names
them all) and the bonus each rep winner is paid, money with thousands separators.
``AWARD_NAMES`` is the one registry of award names; an award of a custom plan that it does
not know is named by its id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class AwardName:
    """An award's name in each language."""

    en: str
    zh: str


#: The default plan's awards (core/plans/awards.yaml) by id.
AWARD_NAMES: dict[str, AwardName] = {
    "star_rep": AwardName("Sales star of the month", "月度销售之星"),
    "star_manager": AwardName("Best sales manager of the month", "最佳销售管理之星"),
    "most_improved": AwardName("Most improved of the quarter", "季度进步之星"),
    "top_10_percent": AwardName("Top 10 % of the year", "年度前 10 %"),
}

_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December")


def award_name(award: str, lang: str) -> str:
    """The award's name in ``lang`` (its id when the registry does not know it)."""
    names = AWARD_NAMES.get(award)
    return award if names is None else getattr(names, lang)


def period_name(period: str, lang: str) -> str:
    """``2026-11`` -> November 2026 / 2026年11月; ``2026-Q4`` -> Q4 2026 / 2026年第4季度; ``2026``."""
    year = period[:4]
    if len(period) == 4:
        return f"{year}年" if lang == "zh" else year
    if period[5] == "Q":
        return f"{year}年第{period[6]}季度" if lang == "zh" else f"{period[5:]} {year}"
    month = int(period[5:7])
    return f"{year}年{month}月" if lang == "zh" else f"{_MONTHS_EN[month - 1]} {year}"


def money(amount: str, currency: str) -> str:
    """``"12000.5"`` -> ``12,000.50 CNY`` (exact: the string is read as a Decimal)."""
    return f"{Decimal(amount).quantize(Decimal('0.01')):,} {currency}"


@dataclass(frozen=True)
class Wording:
    """How a message is worded in one language: templates filled with ``str.format``."""

    #: the award line: ``{award}``, ``{period}``, ``{names}``
    headline: str
    #: between two winners' names
    name_separator: str
    #: a team winner: ``{team}``; and its manager, when it has one: ``{manager}``
    team: str
    manager: str
    #: after the names when every winner shares the first rank
    tied: str
    #: before the bonuses, between two of them, and one: ``{amount}``, ``{each}``
    bonuses_lead: str
    bonus_separator: str
    bonus: str
    #: ``{each}`` of a bonus paid to each of several winners
    each: str


#: The message's wording by language; ``LANGS`` are its keys.
WORDINGS: dict[str, Wording] = {
    "en": Wording(headline="🏆 {award}, {period}: {names}", name_separator=", ", team="team {team}",
                  manager=" (manager {manager})", tied=" (tied)", bonuses_lead="; ", bonus_separator="; ",
                  bonus="bonus {amount}{each}", each=" each"),
    "zh": Wording(headline="🏆 {award} · {period}：{names}", name_separator="、", team="团队 {team}",
                  manager="（经理 {manager}）", tied="（并列）", bonuses_lead="，", bonus_separator="；",
                  bonus="{each}奖金 {amount}", each="每人"),
}
LANGS = tuple(WORDINGS)


def _winner(event: dict[str, Any], wording: Wording) -> str:
    """A rep as ``name (id)``; a team as ``team t1 (manager m1)``."""
    if event.get("scope") == "team":
        manager = event.get("manager_id")
        team = wording.team.format(team=event["winner_id"])
        return team + wording.manager.format(manager=manager) if manager else team
    name, winner_id = event.get("name") or event["winner_id"], event["winner_id"]
    return name if name == winner_id else f"{name} ({winner_id})"


def award_text(events: Sequence[dict[str, Any]], lang: str, currency: str) -> str:
    """The message for the winners of one award in one period (``events``: its ``award``
    events, one per winner, all of the same award and period)."""
    wording = WORDINGS[lang]
    first = events[0]
    winners = sorted(events, key=lambda e: (e.get("rank", 1), e["winner_id"]))
    names = wording.name_separator.join(_winner(e, wording) for e in winners)
    bonuses = {e["bonus"] for e in events if e.get("bonus") is not None}
    tie = len(events) > 1 and all(e.get("rank") == 1 for e in events)
    text = wording.headline.format(award=award_name(first["award"], lang), period=period_name(first["period"], lang),
                                   names=names)
    text += wording.tied if tie else ""
    if bonuses:
        each = wording.each if len(events) > 1 else ""
        text += wording.bonuses_lead + wording.bonus_separator.join(
            wording.bonus.format(amount=money(b, currency), each=each) for b in sorted(bonuses, key=Decimal))
    return text
