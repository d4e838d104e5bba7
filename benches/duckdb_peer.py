"""DuckDB, the peer of benches/warehouse.rs. Prints one JSON object.

  copy DEMO_DIR OUT_DIR
      COPY every export file of a `loopql demo` project into Hive-partitioned Parquet
      (`client_id=…/date=…`, CRM tables per client), as `loopql sync` does with the same files;
      prints {"seconds", "rows"}.
  query PARQUET_ROOT RUNS SQL
      Runs SQL (with {root} replaced by PARQUET_ROOT) RUNS times; prints {"seconds": best,
      "rows": [[...], ...], "peak_rss_kb": the process's peak RSS} with every value as text
      (NULL as null).
"""

import glob
import json
import os
import resource
import sys
import time

import duckdb


def client_dirs(demo):
    root = os.path.join(demo, "exports")
    return sorted((c, os.path.join(root, c)) for c in os.listdir(root))


def copy_jobs(demo, out):
    """(select, target, partitioned) for each export file group of the demo."""
    jobs = []
    for client, cdir in client_dirs(demo):
        lit = "'" + client.replace("'", "''") + "'"

        def files(pattern):
            found = sorted(glob.glob(os.path.join(cdir, pattern)))
            return "[" + ", ".join("'" + f + "'" for f in found) + "]" if found else None

        ga4 = files("ga4/events_*")
        if ga4:
            src = f"read_json({ga4}, format = 'newline_delimited')"
            day = "strptime(CAST(event_date AS VARCHAR), '%Y%m%d')::DATE"
            jobs.append((f"SELECT *, {lit} AS client_id, {day} AS date FROM {src}", "ga4/events", True))
            jobs.append(
                (
                    f"SELECT event_date, event_timestamp, event_name, user_pseudo_id, "
                    f"unnest(event_params, recursive := true), {lit} AS client_id, {day} AS date "
                    f"FROM {src}",
                    "ga4/event_params",
                    True,
                )
            )
        snow = files("snowplow/*.tsv")
        if snow:
            jobs.append(
                (
                    f"SELECT *, {lit} AS client_id, CAST(derived_tstamp AS DATE) AS date "
                    f"FROM read_csv({snow}, delim = '\t', header = true)",
                    "snowplow/events",
                    True,
                )
            )
        ads_csv = files("google_ads/*.csv*")
        if ads_csv:
            jobs.append(
                (
                    f'SELECT *, {lit} AS client_id, "segments.date" AS date FROM read_csv({ads_csv}, header = true)',
                    "google_ads/campaign_stats",
                    True,
                )
            )
        ads_json = files("google_ads/*.json")
        if ads_json:
            jobs.append(
                (
                    f"SELECT r AS result, {lit} AS client_id, CAST(r.segments.date AS DATE) AS date "
                    f"FROM (SELECT unnest(results) AS r FROM read_json({ads_json}))",
                    "google_ads/campaign_stats_json",
                    True,
                )
            )
        meta = files("meta_ads/insights_*.json")
        if meta:
            jobs.append(
                (
                    f"SELECT unnest(d), {lit} AS client_id, CAST(d.date_start AS DATE) AS date FROM "
                    f"(SELECT unnest(data) AS d FROM read_json({meta}))",
                    "meta_ads/insights",
                    True,
                )
            )
            # actions[] and action_values[] unnested, one row per row x kind x action type (as
            # loopql's meta_ads.insights_actions).
            for kind, field in (("action", "actions"), ("action_value", "action_values")):
                jobs.append(
                    (
                        f"SELECT d.campaign_id, d.date_start, '{kind}' AS kind, "
                        f"unnest(d.{field}, recursive := true), {lit} AS client_id, "
                        f"CAST(d.date_start AS DATE) AS date FROM "
                        f"(SELECT unnest(data) AS d FROM read_json({meta}))",
                        f"meta_ads/insights_{field}",
                        True,
                    )
                )
        linkedin = files("linkedin_ads/ad_analytics_*.json")
        if linkedin:
            start = "e.dateRange.start"
            jobs.append(
                (
                    f"SELECT unnest(e), {lit} AS client_id, "
                    f"make_date({start}.year, {start}.month, {start}.day) AS date FROM "
                    f"(SELECT unnest(elements) AS e FROM read_json({linkedin}))",
                    "linkedin_ads/ad_analytics",
                    True,
                )
            )
        campaigns = files("linkedin_ads/ad_campaigns.json")
        if campaigns:
            jobs.append(
                (
                    f"SELECT unnest(e), {lit} AS client_id FROM "
                    f"(SELECT unnest(elements) AS e FROM read_json({campaigns}))",
                    f"linkedin_ads/campaigns/client_id={client}",
                    False,
                )
            )
        microsoft = files("microsoft_ads/*.csv")
        if microsoft:
            # The report's preamble (4 lines) and copyright footer are not rows.
            jobs.append(
                (
                    f'SELECT *, {lit} AS client_id, CAST("TimePeriod" AS DATE) AS date FROM '
                    f"read_csv({microsoft}, skip = 4, header = true, ignore_errors = true) "
                    f'WHERE "AccountId" IS NOT NULL',
                    "microsoft_ads/campaign_performance",
                    True,
                )
            )
        for crm in ("hubspot", "salesforce"):
            for f in sorted(glob.glob(os.path.join(cdir, crm, "*.csv"))):
                name = os.path.splitext(os.path.basename(f))[0]
                jobs.append(
                    (
                        f"SELECT *, {lit} AS client_id FROM read_csv('{f}', header = true)",
                        f"{crm}/{name}/client_id={client}",
                        False,
                    )
                )
    return jobs


def copy(demo, out):
    con = duckdb.connect()
    rows = 0
    start = time.perf_counter()
    for select, target, partitioned in copy_jobs(demo, out):
        path = os.path.join(out, target)
        if partitioned:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            options = "FORMAT parquet, COMPRESSION snappy, PARTITION_BY (client_id, date), OVERWRITE_OR_IGNORE"
        else:
            os.makedirs(path, exist_ok=True)
            path = os.path.join(path, "data.parquet")
            options = "FORMAT parquet, COMPRESSION snappy"
        rows += con.execute(f"COPY ({select}) TO '{path}' ({options})").fetchone()[0]
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": rows}


def text(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def query(root, runs, sql):
    con = duckdb.connect()
    sql = sql.replace("{root}", root)
    best, rows = None, None
    for _ in range(runs):
        start = time.perf_counter()
        rows = con.execute(sql).fetchall()
        took = time.perf_counter() - start
        best = took if best is None else min(best, took)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"seconds": best, "rows": [[text(v) for v in r] for r in rows], "peak_rss_kb": peak}


def main():
    if sys.argv[1] == "copy":
        result = copy(sys.argv[2], sys.argv[3])
    else:
        result = query(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
