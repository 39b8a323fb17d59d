"""The Statistics page's answer is kept between reruns, and is right again after every write.

``StatisticsService.page`` keeps its last answers keyed on the database's
write count and today's date in the zone: a rerun without a write reads only
the ageing again; a finished log row, a reset, a new link or a new local day
are seen at once.
"""

from datetime import date, datetime, timedelta

import pytest

from lib.reporting.statistics import CounterName, StatisticsService
from lib.store.db import Database
from lib.store.sync_log import SyncLog
from tests.reads import counting_reads

NOW = datetime(2026, 3, 10, 12, 0)
DAYS = (date(2026, 3, 4), date(2026, 3, 10))


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "kept.duckdb")
    yield database
    database.close()


@pytest.fixture
def clock():
    now = [NOW]
    return now


def finish(db, action="create", at=NOW):
    with db.transaction() as cur:
        SyncLog.insert_in(cur, now=at, action=action, mode="manual", status="ok", anomaly_id=1)


def total_today(page):
    return page.counters[CounterName.TOTAL].today


def test_a_rerun_without_a_write_reads_only_the_ageing(db, clock):
    svc = StatisticsService(db, lambda: clock[0])
    finish(db)
    first = svc.page("UTC", *DAYS)
    reads = counting_reads(db)
    again = svc.page("UTC", *DAYS)
    assert len(reads) == 1  # open_ageing
    assert total_today(again) == total_today(first) == 1
    assert again.daily.equals(first.daily)


def test_a_finished_row_is_counted_at_once(db, clock):
    svc = StatisticsService(db, lambda: clock[0])
    finish(db)
    assert total_today(svc.page("UTC", *DAYS)) == 1
    finish(db, "comment")
    page = svc.page("UTC", *DAYS)
    assert total_today(page) == 2
    assert page.daily["updated"].sum() == 1


def test_a_reset_is_seen_at_once(db, clock):
    svc = StatisticsService(db, lambda: clock[0])
    finish(db)
    assert svc.page("UTC", *DAYS).counters[CounterName.CREATE].total == 1
    svc.reset("ana")
    page = svc.page("UTC", *DAYS)
    assert page.counters[CounterName.CREATE].total == 0 and page.last_reset is not None


def test_a_new_local_day_moves_today_without_a_write(db, clock):
    svc = StatisticsService(db, lambda: clock[0])
    finish(db)
    assert total_today(svc.page("Europe/Berlin", *DAYS)) == 1
    clock[0] = NOW + timedelta(hours=11)  # 00:00 in Berlin on March 11, still the 10th in UTC
    berlin = svc.page("Europe/Berlin", *DAYS)
    assert total_today(berlin) == 0
    assert berlin.counters[CounterName.TOTAL].yesterday == 1
    assert total_today(svc.page("UTC", *DAYS)) == 1


def test_the_ageing_moves_with_the_clock(db, clock):
    svc = StatisticsService(db, lambda: clock[0])
    with db.transaction() as cur:
        cur.execute(
            "INSERT INTO ticket_links (anomaly_id, connection_id, issue_id, issue_key, url,"
            " created_by_us, linked_at, linked_by) VALUES (1, 1, '1', 'DQ-1', 'u', true, ?, 'a')",
            [NOW - timedelta(days=6)],
        )
    before = svc.page("UTC", *DAYS).ageing["tickets"].tolist()
    clock[0] = NOW + timedelta(days=2)  # the same local day range; the link is now 8 days old
    after = svc.page("UTC", *DAYS).ageing["tickets"].tolist()
    assert before != after and sum(before) == sum(after) == 1


def test_what_is_drawn_from_an_answer_is_kept_until_the_answer_changes(db, clock):
    svc = StatisticsService(db, lambda: clock[0])
    finish(db)
    drawn = []

    def draw(page):
        def build():
            drawn.append(total_today(page))
            return f"chart of {total_today(page)}"

        return build

    first = svc.page("UTC", *DAYS)
    assert svc.drawn(first, "activity", draw(first)) == "chart of 1"
    again = svc.page("UTC", *DAYS)
    assert again.version == first.version
    assert svc.drawn(again, "activity", draw(again)) == "chart of 1" and drawn == [1]
    assert svc.drawn(again, "outcomes", draw(again)) == "chart of 1" and drawn == [1, 1]
    finish(db, "comment")
    after = svc.page("UTC", *DAYS)
    assert after.version != first.version
    assert svc.drawn(after, "activity", draw(after)) == "chart of 2" and drawn == [1, 1, 2]
    clock[0] = NOW + timedelta(days=1)  # a new local day: another answer, drawn again
    tomorrow = svc.page("UTC", *DAYS)
    assert tomorrow.version != after.version
    assert svc.drawn(tomorrow, "activity", draw(tomorrow)) == "chart of 0"
