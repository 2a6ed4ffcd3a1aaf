"""Scale-out: three worker processes (RocksDB stores, one standby replica) share the six
partitions of one broker; the owner of the aggregation stage is killed with SIGKILL
mid-stream; the two survivors take over its partitions, the results are still exactly
the offline recomputation, and every survivor answers queries like the snapshot. The
live ``/metrics`` carries every metric the Prometheus rules and the dashboard use, and
every survivor reports the group's consumer lag. ``SCORECARD_TEST_WORKERS`` (at least
two) and ``SCORECARD_TEST_PARTITIONS`` change the topology (tests/integration/faults.py)."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.cli.worker_probe import http_get
from tests.integration.conftest import WorkerProcess
from tests.integration.faults import (
    SHAPES,
    assert_snapshot_exact,
    fault_settings,
    fault_workers,
    group_settled,
    processing_errors,
    start_workers,
    worker_settings,
)
from tests.integration.faults import aggregation_owner as owner
from tests.integration.kafka_helpers import (
    consumer_lag,
    lag_caught_up,
    metric_sum,
    metric_value,
    produce_events,
    wait_for,
)
from tests.monitoring import monitored_scorecard_metrics, series_names

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.fault]

#: Fields of a published scorecard that the API does not repeat (``as_of`` is the moment of
#: rendering: a key is republished only when its content changes).
PUBLISH_ONLY = {"event_id", "emitted_at", "as_of"}


def received(worker: WorkerProcess) -> float:
    return metric_sum(worker.metrics(), "scorecard_records_received_total")


@pytest.mark.parametrize("shape", ["partitioned", "company-values"])
def test_three_workers_share_the_work_and_two_survive_a_kill(kafka_bootstrap: str, run_worker,
                                                             tmp_path: Path, shape: str) -> None:
    count = fault_workers(3)
    if count < 2:
        pytest.skip("a kill needs a survivor: SCORECARD_TEST_WORKERS must be at least 2 here")
    # Six partitions, a multiple of three workers (faults.DEFAULT_PARTITIONS).
    base = fault_settings(kafka_bootstrap, tmp_path, store="rocksdb", standby_replicas=1, clock_refresh_seconds=2,
                          **SHAPES[shape])
    workers = start_workers(run_worker, worker_settings(base, count, tmp_path))

    events = simulate(SimulationConfig(seed=17, reps=60, teams=6, months=3, start_month="2026-06"))
    half = len(events) // 2
    produce_events(base, events[:half])
    # Every worker consumes a share of the input partitions.
    assert wait_for(lambda: all(received(w) > 0 for w in workers), timeout=240), [received(w) for w in workers]

    victim = owner(workers)
    assert victim is not None
    assignments = {w.settings.web_port: metric_value(w.metrics(), "scorecard_rebalances_total") for w in workers}
    assert all(count >= 1 for count in assignments.values()), assignments  # the group formed
    victim.stop(sig=signal.SIGKILL)
    survivors = [w for w in workers if w is not victim]
    produce_events(base, events[half:])

    assert wait_for(lambda: group_settled(base, survivors), timeout=900, interval=3), \
        [w.log_tail(30) for w in survivors]
    time.sleep(2)
    assert all(w.proc.poll() is None for w in survivors)
    assert all(processing_errors(w.metrics()) == 0 for w in survivors), [w.log_tail() for w in survivors]
    # No survivor committed past a record it never acknowledged (docs/faust-workarounds.md, defect 3).
    assert all(metric_sum(w.metrics(), "scorecard_commit_skips_total") == 0 for w in survivors), \
        [w.log_tail() for w in survivors]
    assert wait_for(lambda: all(w.readiness().get("ready") for w in survivors), timeout=180), \
        [w.readiness() for w in survivors]
    # the victim's partitions moved in a rebalance that every survivor counted
    counted = {w.settings.web_port: metric_value(w.metrics(), "scorecard_rebalances_total") for w in survivors}
    assert all(counted[port] > assignments[port] for port in counted), (assignments, counted)

    rows = assert_snapshot_exact(base, events, more_than=100)

    # Any survivor answers any key like the published snapshot.
    rnd = random.Random(5)
    sample = rnd.sample(rows, 25) + [r for r in rows if r["scope"] == "company"][:3]
    for w in survivors:
        for row in sample:
            status, body = http_get(w.settings.web_port, f"/api/scorecards/{row['scope']}/{row['id']}/{row['period']}",
                                    timeout=10)
            assert status == 200, (row["scope"], row["id"], row["period"], body[:200])
            answer = orjson.loads(body)
            want = {k: v for k, v in row.items() if k not in PUBLISH_ONLY}
            assert {k: v for k, v in answer.items() if k in want} == want
    boards = [http_get(w.settings.web_port, "/api/leaderboard?board=company&period=2026-07&metric=revenue",
                       timeout=10) for w in survivors]
    assert all(status == 200 and body == boards[0][1] for status, body in boards), [b[0] for b in boards]

    # Monitoring: every scorecard_* series of the rules and the dashboard is exported live.
    live = series_names(text_string_to_metric_families(owner(survivors).metrics()))
    wanted = monitored_scorecard_metrics()
    assert wanted and wanted <= live, sorted(wanted - live)
    assert metric_value(owner(survivors).metrics(), "scorecard_ready") == 1

    # Every survivor samples the whole group's lag (a labelled gauge exports its name even
    # without samples, so look at the samples): every consumed topic, 0 on the inputs once
    # the group has committed them to the end (a sample is up to 15 s old).
    def inputs_caught_up() -> bool:
        return all(lag_caught_up(w.metrics(), base) for w in survivors)

    assert wait_for(inputs_caught_up, timeout=60, interval=2), [consumer_lag(w.metrics()) for w in survivors]
