"""The py-spy summary of ``scorecard bench --profile``: shares per stage, self time."""

from __future__ import annotations

from sales_scorecard.cli.bench.profile import parse_collapsed, summarise

RUN = "BaseEventLoop._run_once (asyncio/base_events.py:1922);Handle._run (asyncio/events.py:80)"
INGEST = "_register_one.<locals>.validate_and_forward (agents/ingest.py:60)"
AGG = "register.<locals>.apply_facts (agents/scorecards.py:38);AggregationStage.on_batch (streams/aggregation.py:190)"
STREAM = "Stream.__anext__ (faust/streams.py:880)"
COLLAPSED = "\n".join([
    f"{RUN};{INGEST};EventValidator.validate (schemas/validation.py:120);fast (fastjsonschema_validations:3) 10",
    f"{RUN};{INGEST};Topic.send (faust/topics.py:190);AIOKafkaProducer.send (aiokafka/producer/producer.py:400) 5",
    f"{RUN};{INGEST};{STREAM} 15",
    f"{RUN};{AGG};ScorecardEngine.apply (core/engine.py:180);Bucket.add (core/aggregates.py:50) 20",
    f"{RUN};{AGG};Table.__setitem__ (faust/tables/table.py:80);Table.on_key_set (faust/tables/base.py:300) 10",
    f"{RUN};{AGG};AggregationStage.flush (streams/aggregation.py:250);ScorecardEngine.render (core/engine.py:600) 12",
    f"{RUN};{AGG};AggregationStage.flush (streams/aggregation.py:250);Topic.send (faust/topics.py:190) 8",
    f"{RUN};{AGG};{STREAM} 10",
    f"{RUN};Fetcher._fetch (aiokafka/consumer/fetcher.py:500) 10",
    "not a sample line",
])


def test_parse_keeps_stacks_and_counts() -> None:
    samples = parse_collapsed(COLLAPSED)
    assert len(samples) == 9
    assert samples[0][1] == 10 and samples[0][0][-1] == "fast (fastjsonschema_validations:3)"


def test_stage_shares_follow_the_stacks() -> None:
    got = summarise(COLLAPSED)
    assert got["samples"] == 100
    s = got["stages"]
    assert s["ingest agents, in all"] == 30.0
    assert s["ingest: validation"] == 10.0
    assert s["ingest: forward to sales.facts (Topic.send)"] == 5.0
    assert s["aggregation agent, in all"] == 60.0
    assert s["aggregation: engine apply"] == 20.0
    assert s["aggregation: facts table write (changelog)"] == 10.0
    assert s["aggregation: flush (render, publish, alerts, boards)"] == 20.0
    assert s["aggregation: flush: render"] == 12.0
    assert s["Faust stream iteration (both agents)"] == 25.0
    assert s["aiokafka (fetch, produce, commit)"] == 15.0
    assert s["outside the agents (Faust and aiokafka tasks, web, timers)"] == 10.0
    assert got["top_self"][:2] == [["Stream.__anext__ (faust/streams.py:880)", 25.0],
                                   ["Bucket.add (core/aggregates.py:50)", 20.0]]


def test_an_empty_recording_summarises_to_nothing() -> None:
    assert summarise("") == {"samples": 0, "stages": {}, "top_self": []}
