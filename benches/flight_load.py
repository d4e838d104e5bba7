"""The served-queries load of benches/served.rs: 32 concurrent Flight SQL clients (ADBC) run the
report queries of tests/python/test_flight.py's load test for SECONDS, half as the admin, half
as a principal scoped to one client. Prints {"queries", "seconds", "errors"}.

Usage: flight_load.py URI SECONDS
"""

import json
import sys
import threading
import time

import adbc_driver_flightsql.dbapi as flightsql

ADMIN = ("agency", "agency-pw")
ACME = ("acme", "acme-pw")
CLIENTS = 32

REPORT_QUERIES = [
    "SELECT client_id, channel, sum(spend) AS spend, sum(revenue) AS revenue FROM roi_by_channel "
    "WHERE model = 'last_non_direct' GROUP BY 1, 2",
    "SELECT client_id, platform, sum(clicks) AS clicks, sum(spend) / NULLIF(sum(clicks), 0) AS cpc "
    "FROM kpi_paid_media GROUP BY 1, 2",
    "SELECT client_id, cohort_month, sum(leads) AS leads, sum(customers) AS customers "
    "FROM funnel_cohorts GROUP BY 1, 2",
    "SELECT client_id, channel, sum(platform_conversions) AS p, sum(crm_leads) AS c "
    "FROM triangulation GROUP BY 1, 2",
]


def connect(uri, who):
    return flightsql.connect(
        uri, db_kwargs={"username": who[0], "password": who[1]}, autocommit=True
    )


def fetch(conn, sql):
    cur = conn.cursor()
    try:
        cur.execute(sql)
        return cur.fetch_arrow_table()
    finally:
        cur.close()


def main(uri, seconds):
    with connect(uri, ADMIN) as conn:  # warm every view once
        for sql in REPORT_QUERIES:
            fetch(conn, sql)
    errors, counts = [], [0] * CLIENTS
    started = time.time()
    stop = started + seconds

    def worker(i):
        try:
            who = ADMIN if i % 2 == 0 else ACME
            with connect(uri, who) as conn:
                n = 0
                while time.time() < stop:
                    t = fetch(conn, REPORT_QUERIES[(i + n) % len(REPORT_QUERIES)])
                    assert t.num_rows > 0
                    if who == ACME:
                        assert set(t.column("client_id").to_pylist()) == {"acme"}
                    n += 1
                counts[i] = n
        except Exception as e:  # noqa: BLE001 - every failure is reported
            errors.append(f"client {i}: {e!r}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.time() - started
    print(json.dumps({"queries": sum(counts), "seconds": took, "errors": errors}))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
