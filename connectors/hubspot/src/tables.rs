//! Column definitions of the HubSpot export tables: API property names first, UI labels after.

use loopql_connector_sdk::csv_table::{Column, Empty, Kind};

/// HubSpot's default lifecycle stages (internal names), in funnel order.
pub const LIFECYCLE_STAGES: &[&str] = &[
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
];

pub const CONTACTS: &[Column] = &[
    Column::new(
        "hs_object_id",
        &["hs_object_id", "Record ID", "id"],
        Kind::Int64,
    )
    .empty(Empty::Error),
    Column::new("email", &["email", "Email"], Kind::Utf8).optional(),
    Column::new(
        "createdate",
        &["createdate", "Create Date"],
        Kind::Timestamp,
    )
    .empty(Empty::Error),
    Column::new(
        "lifecyclestage",
        &["lifecyclestage", "Lifecycle Stage"],
        Kind::Utf8,
    ),
    Column::new(
        "hs_lifecyclestage_subscriber_date",
        &[
            "hs_lifecyclestage_subscriber_date",
            "Became a Subscriber Date",
        ],
        Kind::Timestamp,
    )
    .optional(),
    Column::new(
        "hs_lifecyclestage_lead_date",
        &["hs_lifecyclestage_lead_date", "Became a Lead Date"],
        Kind::Timestamp,
    )
    .optional(),
    Column::new(
        "hs_lifecyclestage_marketingqualifiedlead_date",
        &[
            "hs_lifecyclestage_marketingqualifiedlead_date",
            "Became a Marketing Qualified Lead Date",
        ],
        Kind::Timestamp,
    )
    .optional(),
    Column::new(
        "hs_lifecyclestage_salesqualifiedlead_date",
        &[
            "hs_lifecyclestage_salesqualifiedlead_date",
            "Became a Sales Qualified Lead Date",
        ],
        Kind::Timestamp,
    )
    .optional(),
    Column::new(
        "hs_lifecyclestage_opportunity_date",
        &[
            "hs_lifecyclestage_opportunity_date",
            "Became an Opportunity Date",
        ],
        Kind::Timestamp,
    )
    .optional(),
    Column::new(
        "hs_lifecyclestage_customer_date",
        &["hs_lifecyclestage_customer_date", "Became a Customer Date"],
        Kind::Timestamp,
    )
    .optional(),
    Column::new(
        "hs_lifecyclestage_evangelist_date",
        &[
            "hs_lifecyclestage_evangelist_date",
            "Became an Evangelist Date",
        ],
        Kind::Timestamp,
    )
    .optional(),
    Column::new(
        "hs_lifecyclestage_other_date",
        &[
            "hs_lifecyclestage_other_date",
            "Became a Other Lifecycle Date",
        ],
        Kind::Timestamp,
    )
    .optional(),
    Column::new(
        "hs_analytics_source",
        &["hs_analytics_source", "Original Source"],
        Kind::Utf8,
    )
    .optional(),
    Column::new(
        "hs_analytics_source_data_1",
        &["hs_analytics_source_data_1", "Original Source Drill-Down 1"],
        Kind::Utf8,
    )
    .optional(),
    Column::new(
        "hs_analytics_source_data_2",
        &["hs_analytics_source_data_2", "Original Source Drill-Down 2"],
        Kind::Utf8,
    )
    .optional(),
    Column::new(
        "lastmodifieddate",
        &["lastmodifieddate", "Last Modified Date"],
        Kind::Timestamp,
    )
    .optional(),
    Column::new("archived", &["archived"], Kind::Bool).optional(),
];

pub const DEALS: &[Column] = &[
    Column::new(
        "hs_object_id",
        &["hs_object_id", "Record ID", "id"],
        Kind::Int64,
    )
    .empty(Empty::Error),
    Column::new("dealname", &["dealname", "Deal Name"], Kind::Utf8).optional(),
    Column::new("amount", &["amount", "Amount"], Kind::Float64).optional(),
    Column::new(
        "deal_currency_code",
        &["deal_currency_code", "Currency"],
        Kind::Utf8,
    )
    .optional(),
    Column::new("dealstage", &["dealstage", "Deal Stage"], Kind::Utf8),
    Column::new("pipeline", &["pipeline", "Pipeline"], Kind::Utf8).optional(),
    Column::new(
        "createdate",
        &["createdate", "Create Date"],
        Kind::Timestamp,
    )
    .empty(Empty::Error),
    Column::new("closedate", &["closedate", "Close Date"], Kind::Timestamp).optional(),
    Column::new(
        "hs_is_closed_won",
        &["hs_is_closed_won", "Is Closed Won"],
        Kind::Bool,
    )
    .optional(),
    Column::new(
        "hs_is_closed",
        &["hs_is_closed", "Is Deal Closed?"],
        Kind::Bool,
    )
    .optional(),
    Column::new(
        "hs_lastmodifieddate",
        &["hs_lastmodifieddate", "Last Modified Date"],
        Kind::Timestamp,
    )
    .optional(),
    Column::new("archived", &["archived"], Kind::Bool).optional(),
];

pub const ASSOCIATIONS: &[Column] = &[
    Column::new(
        "deal_id",
        &["deal_id", "fromObjectId", "Deal ID"],
        Kind::Int64,
    )
    .empty(Empty::Error),
    Column::new(
        "contact_id",
        &["contact_id", "toObjectId", "Contact ID"],
        Kind::Int64,
    )
    .empty(Empty::Error),
];
