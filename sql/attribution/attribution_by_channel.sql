-- attribution_by_channel: conversions and value credited to channels by every model.
-- grain:   client x conversion day x conversion type x model x channel.
-- inputs:  `touchpoints`, `conversions`, via attribution('channel'); the path settings of
--          `conversion_paths` plus loopql.attribution.position_first_share / position_last_share
--          (0.4 / 0.4), half_life_days (7), markov_order (1), read when the query runs.
-- columns: client_id, conversion_date, conversion_type, model, channel, conversions, value
-- notes:   model is first_touch, last_touch, last_non_direct, linear, position_based, time_decay,
--          w_shaped, markov or shapley. Per conversion, each model's credits sum to 1 and to its
--          value (reporting currency). Conversions without a touch in the window go to
--          `Unmatched`. Markov is fitted per client and conversion type over the conversions the
--          query keeps and the paths of people who touched without converting; each matched
--          conversion is split by the channels' removal-effect shares, so channel totals are
--          RE(k) / sum(RE) x conversions. W-shaped uses the person's CRM lead and opportunity times.
SELECT client_id, conversion_date, conversion_type, model, channel, conversions, value
FROM attribution('channel')
