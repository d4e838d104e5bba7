-- attribution_by_campaign: conversions and value credited to campaigns by every model.
-- grain:   client x conversion day x conversion type x model x channel x campaign.
-- inputs:  `touchpoints`, `conversions`, via attribution('campaign'); the settings of
--          `attribution_by_channel`.
-- columns: client_id, conversion_date, conversion_type, model, channel, campaign, conversions,
--          value
-- notes:   a path's steps are (channel, campaign) pairs, so the path transforms and Markov work
--          on campaigns; campaign is the lower-cased UTM campaign, or the CRM campaign name, or
--          '(not set)'; NULL for `Unmatched`.
SELECT client_id, conversion_date, conversion_type, model, channel, campaign, conversions, value
FROM attribution('campaign')
