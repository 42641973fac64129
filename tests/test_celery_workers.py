"""Two real Celery workers on Redis sweep one day in parallel batches: every batch is done
once, by one of them, and the day's work is done once however often the day is started
or a batch message is delivered (issue 3, "The daily sweep").

Runs when the broker is Redis (CI's second run); with Redis configured but unreachable it
fails. The workers are subprocesses on a queue of their own, pointed at the test database
(PostgreSQL: the test's rows are committed, so they see them).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app
from dunning import tasks
from dunning.models import Escalation, InterestCharge, StageChange, SweepBatch, Task
from dunning.sweep import batch_numbers
from tests.sweep_helpers import D, dealers_in_every_situation, table_counts

BROKER = settings.CELERY_BROKER_URL
CELERY = Path(sys.executable).with_name("celery")
BASE_DIR = Path(settings.BASE_DIR)

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(
        not BROKER.startswith("redis://"),
        reason="the broker is not Redis (CELERY_BROKER_URL=redis://... runs this, as CI does)",
    ),
    pytest.mark.django_db(transaction=True),
]

TODAY = D(2026, 3, 10)
DAY_ISO = TODAY.isoformat()
BATCH_SIZE = 4
TASK = "dunning.tasks.sweep_batch"


def wait_for(
    condition: Callable[[], bool], *, seconds: float, what: str, logs: Callable[[], str] = str
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    pytest.fail(f"Timed out after {seconds:.0f} s waiting for {what}.\n{logs()}")


def worker_database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "localhost"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}@{host}{port}/{quote(db['NAME'], safe='')}"


@pytest.fixture
def broker() -> None:
    """Redis is configured, so it must answer: an unreachable broker fails the test."""
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=2, interval_start=0.2, interval_step=0.2)
    except Exception as exc:
        pytest.fail(f"CELERY_BROKER_URL={BROKER} is configured but unreachable: {exc!r}")


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue of the test's own, so that no other worker on this Redis takes its tasks;
    everything this process enqueues goes there."""
    name = f"sweep-test-{uuid.uuid4().hex[:12]}"
    default = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = name
    yield name
    celery_app.conf.task_default_queue = default


@dataclass
class Workers:
    names: list[str]
    logs: list[Path]

    def _inspect(self):  # type: ignore[no-untyped-def]
        return celery_app.control.inspect(destination=self.names, timeout=1.0)

    def all_answer(self) -> bool:
        replies = celery_app.control.ping(destination=self.names, timeout=1.0)
        return {name for reply in replies for name in reply} == set(self.names)

    def accepted(self) -> int:
        """Batch tasks the workers have taken since they started."""
        stats = self._inspect().stats() or {}
        return sum(s.get("total", {}).get(TASK, 0) for s in stats.values())

    def idle(self) -> bool:
        """Nothing running, reserved or waiting for a retry on either worker."""
        inspect = self._inspect()
        busy: dict[str, list] = {}
        for replies in (inspect.active(), inspect.reserved(), inspect.scheduled()):
            for name, tasks_ in (replies or {}).items():
                busy.setdefault(name, []).extend(tasks_)
        return set(busy) == set(self.names) and not any(busy.values())

    def log_text(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()}" for p in self.logs if p.exists())


@pytest.fixture
def workers(transactional_db, broker, queue: str, tmp_path: Path) -> Iterator[Workers]:
    if connection.vendor != "postgresql":
        pytest.skip("worker processes need a database server to share the test database")
    run = uuid.uuid4().hex[:8]
    host = socket.gethostname()
    names = [f"w1-{run}@{host}", f"w2-{run}@{host}"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": worker_database_url(),
        "CELERY_BROKER_URL": BROKER,
    }
    processes: list[subprocess.Popen] = []
    logs: list[Path] = []
    try:
        for name in names:
            log = tmp_path / f"{name.split('@')[0]}.log"
            logs.append(log)
            with log.open("w") as out:
                processes.append(
                    subprocess.Popen(
                        [
                            *(str(CELERY), "-A", "config", "worker", "-Q", queue),
                            *("--concurrency=1", "-n", name, "--loglevel=INFO"),
                            *("--without-gossip", "--without-mingle"),
                        ],
                        cwd=BASE_DIR,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        started = Workers(names, logs)

        def ready() -> bool:
            for process in processes:
                if process.poll() is not None:
                    pytest.fail(f"A worker exited with {process.returncode}:\n{started.log_text()}")
            return started.all_answer()

        wait_for(ready, seconds=60, what="both workers to answer a ping")
        yield started
    finally:
        for process in processes:
            process.terminate()  # warm shutdown: the running task finishes first
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)  # the worker and its pool child, started above
                process.wait(timeout=10)
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


def done_in_logs(workers: Workers) -> Counter[int]:
    """Batch number -> times a worker logged doing it (skips are not logged)."""
    return Counter(
        int(n) for n in re.findall(rf"Sweep {DAY_ISO} batch (\d+): ", workers.log_text())
    )


def test_two_workers_share_a_days_batches_and_do_each_once(workers: Workers):
    expected = dealers_in_every_situation(48, TODAY)
    numbers = batch_numbers(batch_size=BATCH_SIZE)
    assert len(numbers) >= 10

    # The beat's start task, twice (a second beat, a redelivered message): the second
    # enqueues whatever the workers have not claimed yet, a second time.
    sent = len(tasks.start_daily_sweep(DAY_ISO, BATCH_SIZE))
    sent += len(tasks.start_daily_sweep(DAY_ISO, BATCH_SIZE))

    wait_for(
        lambda: SweepBatch.objects.filter(business_date=TODAY).count() == len(numbers),
        seconds=60,
        what=f"{len(numbers)} batches to be claimed",
        logs=workers.log_text,
    )
    wait_for(
        lambda: workers.accepted() == sent and workers.idle(),
        seconds=60,
        what=f"the workers to take all {sent} batch messages",
        logs=workers.log_text,
    )

    claims = list(SweepBatch.objects.filter(business_date=TODAY).order_by("number"))
    assert [c.number for c in claims] == numbers
    # Both workers did batches: the day was shared.
    by_worker = Counter(c.summary["worker"] for c in claims)
    assert set(by_worker) == set(workers.names), by_worker
    assert done_in_logs(workers) == Counter(numbers), workers.log_text()
    # The day's work, once.
    done: Counter[str] = Counter()
    for claim in claims:
        done.update(claim.summary["counts"])
    assert done == expected
    assert StageChange.objects.count() == sum(
        v for k, v in expected.items() if k.startswith("moved_to_")
    )
    assert Escalation.objects.count() == expected["escalations_proposed"]
    assert InterestCharge.objects.count() == expected["interest_charges"]
    assert Task.objects.count() == expected["tasks_call"] + expected["tasks_review"]


def test_starting_a_swept_day_again_or_redelivering_its_batches_changes_nothing(
    workers: Workers,
):
    dealers_in_every_situation(24, TODAY)
    numbers = batch_numbers(batch_size=BATCH_SIZE)
    sent = len(tasks.start_daily_sweep(DAY_ISO, BATCH_SIZE))
    wait_for(
        lambda: workers.accepted() == sent and workers.idle(),
        seconds=60,
        what="the first sweep of the day",
        logs=workers.log_text,
    )
    assert SweepBatch.objects.filter(business_date=TODAY).count() == len(numbers), (
        workers.log_text()
    )
    before = table_counts()

    # Started again: nothing is left to enqueue.
    assert tasks.start_daily_sweep(DAY_ISO, BATCH_SIZE) == []
    assert tasks.start_daily_sweep(DAY_ISO, BATCH_SIZE) == []
    # Every batch message delivered again, as after a lost worker with acks_late.
    for number in numbers:
        tasks.sweep_batch.delay(DAY_ISO, number, BATCH_SIZE)
    wait_for(
        lambda: workers.accepted() == sent + len(numbers) and workers.idle(),
        seconds=60,
        what="the redelivered batch messages",
        logs=workers.log_text,
    )

    assert table_counts() == before
    assert done_in_logs(workers) == Counter(numbers), workers.log_text()
