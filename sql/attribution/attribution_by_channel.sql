-- attribution_by_channel: conversions and value credited to channels by every model.
-- grain:   client x conversion day x conversion type x model x channel.
-- inputs:  `touchpoints`, `conversions`, via attribution('channel'); the path settings of
--          `conversion_paths` plus loopql.attribution.position_first_share / position_last_share
--          (0.4 / 0.4), half_life_days (7), markov_order (1), read when the query runs.
-- columns: client_id, conversion_date, conversion_type, model, channel, conversions, value
-- notes:   model is first_touch, last_touch, last_non_direct, linear, position_based, time_decay,
--          w_shaped, markov, shapley or equal_distinct (an equal split over the path's distinct
--          channels). Per conversion, each model's credits sum to 1 and to its value (reporting
--          currency). Conversions without a touch in the window go to `Unmatched`. Markov and
--          Shapley are fitted per client and conversion type on all of its conversions and the
--          journeys of people who touched without converting — never on the query's filters, so
--          a row is the same with or without a WHERE, and days add up to months. Each
--          conversion's Markov credit goes to the channels on its own path in proportion to their
--          removal effects; its Shapley credit in proportion to their (positive) Shapley values.
--          W-shaped uses the person's CRM lead and opportunity times at or before the conversion.
SELECT client_id, conversion_date, conversion_type, model, channel, conversions, value
FROM attribution('channel')
