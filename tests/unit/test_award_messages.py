"""Award announcements of ``scorecard alert-sink`` (contract §11): the message in English and
中文 (award, period, every tied winner, the bonus with separators), and each chat robot's
documented payload, checked by a local webhook server. Expected texts are written by hand."""

from __future__ import annotations

from typing import Any

import pytest

from sales_scorecard.cli.alert_sink import awards_body, awards_text, deliver
from sales_scorecard.cli.award_messages import award_text, money, period_name
from tests.webhook import LocalWebhook, Reply


def award(award_id: str, period: str, winner: str, name: str, *, scope: str = "rep", rank: int = 1,
          bonus: str | None = None, manager: str | None = "m1") -> dict[str, Any]:
    return {"event_id": f"award:{award_id}:{period}:{winner}", "type": "award", "schema_version": 1,
            "emitted_at": "2026-12-01T00:00:00+08:00", "award": award_id, "period": period, "scope": scope,
            "winner_id": winner, "name": name, "team_id": "t1" if scope == "rep" else winner,
            "manager_id": manager, "value": 0.9, "rank": rank, "bonus": bonus}


ALICE = award("star_rep", "2026-11", "r1", "Alice", bonus="2000.00")
BOB = award("star_rep", "2026-11", "r2", "Bob", bonus="2000.00")
TEAM = award("star_manager", "2026-11", "t1", "t1", scope="team")


def test_money_has_thousands_separators_and_two_decimals() -> None:
    assert money("2000.00", "CNY") == "2,000.00 CNY"
    assert money("1234567.5", "CNY") == "1,234,567.50 CNY"
    assert money("999.99", "EUR") == "999.99 EUR"


@pytest.mark.parametrize(("period", "en", "zh"), [
    ("2026-11", "November 2026", "2026年11月"),
    ("2026-01", "January 2026", "2026年1月"),
    ("2026-Q4", "Q4 2026", "2026年第4季度"),
    ("2026", "2026", "2026年"),
])
def test_period_names(period: str, en: str, zh: str) -> None:
    assert (period_name(period, "en"), period_name(period, "zh")) == (en, zh)


def test_one_winner_with_a_bonus() -> None:
    assert award_text([ALICE], "en", "CNY") == \
        "🏆 Sales star of the month, November 2026: Alice (r1); bonus 2,000.00 CNY"
    assert award_text([ALICE], "zh", "CNY") == "🏆 月度销售之星 · 2026年11月：Alice (r1)，奖金 2,000.00 CNY"


def test_a_tie_names_every_winner_and_the_bonus_each() -> None:
    big = [{**ALICE, "bonus": "12500.50"}, {**BOB, "bonus": "12500.50"}]
    assert award_text(list(reversed(big)), "en", "CNY") == \
        "🏆 Sales star of the month, November 2026: Alice (r1), Bob (r2) (tied); bonus 12,500.50 CNY each"
    assert award_text(big, "zh", "CNY") == \
        "🏆 月度销售之星 · 2026年11月：Alice (r1)、Bob (r2)（并列），每人奖金 12,500.50 CNY"


def test_a_team_award_names_the_team_and_its_manager_and_no_bonus() -> None:
    assert award_text([TEAM], "en", "CNY") == "🏆 Best sales manager of the month, November 2026: team t1 (manager m1)"
    assert award_text([TEAM], "zh", "CNY") == "🏆 最佳销售管理之星 · 2026年11月：团队 t1（经理 m1）"


def test_top_decile_lists_winners_by_rank_and_a_custom_award_by_its_id() -> None:
    year = [award("top_10_percent", "2026", "r1", "Alice", rank=2), award("top_10_percent", "2026", "r3", "Carol")]
    assert award_text(year, "en", "CNY") == "🏆 Top 10 % of the year, 2026: Carol (r3), Alice (r1)"
    assert award_text(year, "zh", "CNY") == "🏆 年度前 10 % · 2026年：Carol (r3)、Alice (r1)"
    quarter = [award("rookie", "2026-Q4", "r9", "r9", bonus="500.00")]
    assert award_text(quarter, "en", "CNY") == "🏆 rookie, Q4 2026: r9; bonus 500.00 CNY"


def test_both_languages_are_english_then_chinese() -> None:
    assert awards_text([ALICE], "both", "CNY") == \
        "🏆 Sales star of the month, November 2026: Alice (r1); bonus 2,000.00 CNY\n" \
        "🏆 月度销售之星 · 2026年11月：Alice (r1)，奖金 2,000.00 CNY"


TIE_EN = "🏆 Sales star of the month, November 2026: Alice (r1), Bob (r2) (tied); bonus 2,000.00 CNY each"
TIE_ZH = "🏆 月度销售之星 · 2026年11月：Alice (r1)、Bob (r2)（并列），每人奖金 2,000.00 CNY"

#: format -> (the payload its platform documents holds exactly this text, the "ok" answer)
SHAPES: dict[str, tuple[Any, bytes]] = {
    # the JSON body: the announcement (award, period, every event) plus text
    "json": (lambda b, text: set(b) == {"type", "award", "period", "awards", "text"} and b["type"] == "award"
             and b["award"] == "star_rep" and b["period"] == "2026-11"
             and [a["winner_id"] for a in b["awards"]] == ["r1", "r2"] and b["text"] == text, b""),
    # Slack incoming webhook: {"text": ...}
    "slack": (lambda b, text: b == {"text": text}, b"ok"),
    # 企业微信 group robot: {"msgtype": "text", "text": {"content": ...}}
    "wecom": (lambda b, text: b == {"msgtype": "text", "text": {"content": text}}, b'{"errcode":0,"errmsg":"ok"}'),
    # 钉钉 custom robot: {"msgtype": "text", "text": {"content": ...}}
    "dingtalk": (lambda b, text: b == {"msgtype": "text", "text": {"content": text}}, b'{"errcode":0,"errmsg":"ok"}'),
    # 飞书 custom bot: {"msg_type": "text", "content": {"text": ...}}
    "feishu": (lambda b, text: b == {"msg_type": "text", "content": {"text": text}},
               b'{"code":0,"msg":"success","data":{}}'),
}


@pytest.mark.parametrize("lang", ["en", "zh", "both"])
@pytest.mark.parametrize("fmt", list(SHAPES))
def test_each_format_announces_a_tie_in_each_language(fmt: str, lang: str) -> None:
    shape, ok = SHAPES[fmt]
    events = [ALICE, BOB]
    text = awards_text(events, lang, "CNY")
    with LocalWebhook(Reply(body=ok)) as hook:
        assert deliver(hook.url, awards_body(events), iter([0.0]), sleep=lambda _: None, fmt=fmt, text=text) == 1
    want = {"en": TIE_EN, "zh": TIE_ZH, "both": f"{TIE_EN}\n{TIE_ZH}"}[lang]
    assert len(hook.posted) == 1 and shape(hook.posted[0], want), hook.posted


def test_pending_awards_group_by_period_and_award_and_survive_a_reopen(tmp_path) -> None:
    from sales_scorecard.cli.alert_sink import Delivered, PendingAwards

    store = Delivered(tmp_path / "sink.sqlite")
    pending = PendingAwards(store.db)
    for event in (BOB, TEAM, ALICE, ALICE):  # a redelivered record is kept once
        pending.add(event)
    store.close()
    again = PendingAwards(Delivered(tmp_path / "sink.sqlite").db)
    groups = again.groups()
    assert [[e["event_id"] for e in g] for g in groups] == [
        ["award:star_manager:2026-11:t1"], ["award:star_rep:2026-11:r1", "award:star_rep:2026-11:r2"]]
    again.remove(groups[1])
    assert [[e["winner_id"] for e in g] for g in again.groups()] == [["t1"]]
