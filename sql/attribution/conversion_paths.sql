-- conversion_paths: every conversion with the path the attribution models credit.
-- grain:   one row per conversion (`conversions`).
-- inputs:  `touchpoints`, `conversions`, via conversion_paths(); settings loopql.attribution.
--          lookback_days (30), lookback_steps (0 = all), path_transform (unique | exposure |
--          first), direct_policy (keep | exclude | last_non_direct), read when the query runs.
-- columns: client_id, person_key, conversion_ts, conversion_date, conversion_type, value, path,
--          touches, first_touch_ts
-- notes:   path is the channels in time order joined by ' > ' (empty: no touch in the window,
--          which the models credit to `Unmatched`); touches counts them.
SELECT * FROM conversion_paths()
