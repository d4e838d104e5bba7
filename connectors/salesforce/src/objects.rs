//! The exported objects and their fields (API names as headers; raw columns in snake_case).
//! Every object carries `SystemModstamp`, which incremental syncs read the changed records by
//! (keyed by `Id`; CampaignMember's and OpportunityContactRole's `Id` come last, as exports of
//! them often leave it out), and `IsDeleted`, true on the deleted records an incremental read
//! (`queryAll`) returns so the merge drops them.

use loopql_connector_sdk::csv_table::{Column, Empty, Kind};

pub struct Object {
    pub name: &'static str,
    pub object: &'static str,
    pub option: &'static str,
    pub columns: &'static [Column],
    pub filters: &'static [&'static str],
}

const fn id(name: &'static str, headers: &'static [&'static str]) -> Column {
    Column::new(name, headers, Kind::Utf8).empty(Empty::Error)
}

const fn opt(name: &'static str, headers: &'static [&'static str], kind: Kind) -> Column {
    Column::new(name, headers, kind).optional()
}

pub const TABLES: [Object; 6] = [
    Object {
        name: "lead",
        object: "Lead",
        option: "lead_path",
        columns: &[
            id("id", &["Id"]),
            opt("email", &["Email"], Kind::Utf8),
            Column::new("status", &["Status"], Kind::Utf8),
            opt("lead_source", &["LeadSource"], Kind::Utf8),
            Column::new("created_date", &["CreatedDate"], Kind::Timestamp).empty(Empty::Error),
            opt("is_converted", &["IsConverted"], Kind::Bool),
            opt("converted_date", &["ConvertedDate"], Kind::Date),
            opt(
                "converted_opportunity_id",
                &["ConvertedOpportunityId"],
                Kind::Utf8,
            ),
            opt("converted_contact_id", &["ConvertedContactId"], Kind::Utf8),
            opt("system_modstamp", &["SystemModstamp"], Kind::Timestamp),
            opt("is_deleted", &["IsDeleted"], Kind::Bool),
        ],
        filters: &["id", "created_date", "status", "system_modstamp"],
    },
    Object {
        name: "contact",
        object: "Contact",
        option: "contact_path",
        columns: &[
            id("id", &["Id"]),
            opt("email", &["Email"], Kind::Utf8),
            opt("account_id", &["AccountId"], Kind::Utf8),
            opt("lead_source", &["LeadSource"], Kind::Utf8),
            Column::new("created_date", &["CreatedDate"], Kind::Timestamp).empty(Empty::Error),
            opt("system_modstamp", &["SystemModstamp"], Kind::Timestamp),
            opt("is_deleted", &["IsDeleted"], Kind::Bool),
        ],
        filters: &["id", "created_date", "system_modstamp"],
    },
    Object {
        name: "opportunity",
        object: "Opportunity",
        option: "opportunity_path",
        columns: &[
            id("id", &["Id"]),
            opt("account_id", &["AccountId"], Kind::Utf8),
            opt("name", &["Name"], Kind::Utf8),
            opt("amount", &["Amount"], Kind::Float64),
            opt("currency_iso_code", &["CurrencyIsoCode"], Kind::Utf8),
            Column::new("stage_name", &["StageName"], Kind::Utf8),
            Column::new("close_date", &["CloseDate"], Kind::Date),
            Column::new("is_closed", &["IsClosed"], Kind::Bool),
            Column::new("is_won", &["IsWon"], Kind::Bool),
            opt("campaign_id", &["CampaignId"], Kind::Utf8),
            Column::new("created_date", &["CreatedDate"], Kind::Timestamp).empty(Empty::Error),
            opt("lead_source", &["LeadSource"], Kind::Utf8),
            opt("system_modstamp", &["SystemModstamp"], Kind::Timestamp),
            opt("is_deleted", &["IsDeleted"], Kind::Bool),
        ],
        filters: &[
            "id",
            "created_date",
            "close_date",
            "stage_name",
            "is_won",
            "campaign_id",
            "system_modstamp",
        ],
    },
    Object {
        name: "campaign",
        object: "Campaign",
        option: "campaign_path",
        columns: &[
            id("id", &["Id"]),
            Column::new("name", &["Name"], Kind::Utf8),
            opt("type", &["Type"], Kind::Utf8),
            opt("actual_cost", &["ActualCost"], Kind::Float64),
            opt("start_date", &["StartDate"], Kind::Date),
            opt("end_date", &["EndDate"], Kind::Date),
            opt("system_modstamp", &["SystemModstamp"], Kind::Timestamp),
            opt("is_deleted", &["IsDeleted"], Kind::Bool),
        ],
        filters: &["id", "system_modstamp"],
    },
    Object {
        name: "campaign_member",
        object: "CampaignMember",
        option: "campaign_member_path",
        columns: &[
            id("campaign_id", &["CampaignId"]),
            opt("lead_id", &["LeadId"], Kind::Utf8),
            opt("contact_id", &["ContactId"], Kind::Utf8),
            opt("status", &["Status"], Kind::Utf8),
            opt("has_responded", &["HasResponded"], Kind::Bool),
            opt("first_responded_date", &["FirstRespondedDate"], Kind::Date),
            Column::new("created_date", &["CreatedDate"], Kind::Timestamp).empty(Empty::Error),
            opt("id", &["Id"], Kind::Utf8),
            opt("system_modstamp", &["SystemModstamp"], Kind::Timestamp),
            opt("is_deleted", &["IsDeleted"], Kind::Bool),
        ],
        filters: &[
            "campaign_id",
            "lead_id",
            "contact_id",
            "created_date",
            "system_modstamp",
        ],
    },
    Object {
        name: "opportunity_contact_role",
        object: "OpportunityContactRole",
        option: "opportunity_contact_role_path",
        columns: &[
            id("opportunity_id", &["OpportunityId"]),
            id("contact_id", &["ContactId"]),
            opt("is_primary", &["IsPrimary"], Kind::Bool),
            opt("role", &["Role"], Kind::Utf8),
            opt("id", &["Id"], Kind::Utf8),
            opt("system_modstamp", &["SystemModstamp"], Kind::Timestamp),
            opt("is_deleted", &["IsDeleted"], Kind::Bool),
        ],
        filters: &["opportunity_id", "contact_id", "system_modstamp"],
    },
];
