"""loopql's Flight SQL server through real clients: ADBC (Flight SQL driver), pyarrow.flight and
Polars. Run by tests/flight_clients.rs, which starts `loopql serve` over a demo project and passes
LOOPQL_FLIGHT_URI (and LOOPQL_SERVER_PID for the load test)."""

import os
import threading
import time

import adbc_driver_flightsql.dbapi as flightsql
import polars as pl
import pyarrow as pa
import pyarrow.flight as flight
import pytest
from flightsql_command import statement_query

URI = os.environ["LOOPQL_FLIGHT_URI"]
ADMIN = ("agency", "agency-pw")
ACME = ("acme", "acme-pw")
ACME_TOKEN = "acme-static-token"


def connect(user=None, password=None, token=None):
    kwargs = {}
    if token is not None:
        kwargs["adbc.flight.sql.authorization_header"] = f"Bearer {token}"
    else:
        kwargs["username"] = user
        kwargs["password"] = password
    return flightsql.connect(URI, db_kwargs=kwargs, autocommit=True)


def fetch(conn, sql, params=None):
    cur = conn.cursor()
    try:
        cur.execute(sql, params)
        return cur.fetch_arrow_table()
    finally:
        cur.close()


def test_password_login_and_a_shipped_view():
    with connect(*ADMIN) as conn:
        t = fetch(conn, "SELECT client_id, model, sum(spend) AS spend FROM roi_by_channel "
                        "WHERE model = 'linear' GROUP BY 1, 2 ORDER BY 1")
        assert t.column("client_id").to_pylist() == ["acme", "globex", "initech"]
        assert all(s > 0 for s in t.column("spend").to_pylist())


def test_static_token_sees_its_client_only():
    with connect(token=ACME_TOKEN) as conn:
        t = fetch(conn, "SELECT DISTINCT client_id FROM ad_performance")
        assert t.column(0).to_pylist() == ["acme"]


def test_prepared_statement_with_parameters():
    with connect(*ADMIN) as conn:
        t = fetch(conn, "SELECT client_id, count(*) AS n FROM ad_performance "
                        "WHERE client_id = $1 AND clicks >= $2 GROUP BY 1", ("globex", 0))
        assert t.column("client_id").to_pylist() == ["globex"]
        all_rows = fetch(conn, "SELECT count(*) AS n FROM ad_performance WHERE client_id = 'globex'")
        assert t.column("n").to_pylist() == all_rows.column("n").to_pylist()
        # The same statement again with other values.
        t = fetch(conn, "SELECT client_id, count(*) AS n FROM ad_performance "
                        "WHERE client_id = $1 AND clicks >= $2 GROUP BY 1", ("acme' OR '1'='1", 0))
        assert t.num_rows == 0


def test_metadata_get_objects_table_schema_and_info():
    with connect(*ACME) as conn:
        objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
        tables = {
            (s["db_schema_name"], t["table_name"])
            for c in objects
            for s in c["catalog_db_schemas"]
            for t in (s["db_schema_tables"] or [])
        }
        assert ("public", "ad_performance") in tables
        assert ("public", "roi_by_channel") in tables
        assert not any(schema == "google_ads" for schema, _ in tables), "raw tables hidden"
        schema = conn.adbc_get_table_schema("ad_performance")
        assert "spend" in schema.names and "client_id" in schema.names
        info = conn.adbc_get_info()
        assert info["vendor_name"] == "loopql"


def test_errors_say_what_went_wrong():
    with connect(*ACME) as conn:
        with pytest.raises(Exception, match="INVALID_ARGUMENT"):
            fetch(conn, "SELEC 1")
        with pytest.raises(Exception, match="UNAUTHORIZED|PERMISSION"):
            fetch(conn, "COPY (SELECT 1) TO '/tmp/loopql-x.csv'")
    with pytest.raises(Exception, match="UNAUTHENTICATED"):
        connect("acme", "wrong-password")


def test_pyarrow_flight_basic_token_and_do_get():
    client = flight.FlightClient(URI)
    header = client.authenticate_basic_token(ACME[0].encode(), ACME[1].encode())
    assert header[0] == b"authorization" and header[1].startswith(b"Bearer ")
    options = flight.FlightCallOptions(headers=[header])
    descriptor = flight.FlightDescriptor.for_command(
        statement_query("SELECT client_id, sum(spend) AS spend FROM ad_performance GROUP BY 1"))
    info = client.get_flight_info(descriptor, options)
    table = client.do_get(info.endpoints[0].ticket, options).read_all()
    assert table.schema == info.schema
    assert table.column("client_id").to_pylist() == ["acme"]
    with pytest.raises(flight.FlightUnauthenticatedError):
        client.get_flight_info(descriptor)


def test_polars_through_adbc():
    with connect(*ADMIN) as conn:
        df = pl.read_database(
            "SELECT client_id, channel, sum(spend) AS spend FROM ad_performance GROUP BY 1, 2 ORDER BY 1, 2",
            connection=conn,
        )
    assert df.height >= 3
    assert set(df["client_id"].to_list()) == {"acme", "globex", "initech"}


def _rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


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


def test_load_32_clients():
    """32 concurrent clients run report queries for LOOPQL_LOAD_SECONDS (60): no errors, and the
    server's memory is back near its baseline afterwards."""
    pid = int(os.environ["LOOPQL_SERVER_PID"])
    seconds = float(os.environ.get("LOOPQL_LOAD_SECONDS", "60"))
    with connect(*ADMIN) as conn:  # warm every view once
        for sql in REPORT_QUERIES:
            fetch(conn, sql)
    time.sleep(1)
    baseline = _rss_kb(pid)
    errors, counts, peak = [], [0] * 32, [baseline]
    stop = time.time() + seconds

    def worker(i):
        try:
            who = ADMIN if i % 2 == 0 else ACME
            with connect(*who) as conn:
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

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak[0] = max(peak[0], _rss_kb(pid))
        time.sleep(0.5)
    assert errors == []
    assert all(c > 0 for c in counts), counts
    time.sleep(3)
    after = _rss_kb(pid)
    print(f"load: {sum(counts)} queries by 32 clients in {seconds:.0f} s; "
          f"RSS baseline {baseline // 1024} MiB, peak {peak[0] // 1024} MiB, after {after // 1024} MiB")
    assert after <= baseline * 1.3 + 32 * 1024, (baseline, peak[0], after)
