//! The journeys as the CRM saw them: HubSpot exports (contacts, deals, associations) or
//! Salesforce object exports (Lead, Contact, Opportunity, OpportunityContactRole).

use super::google_ads::save;
use super::journeys::{Lead, Person};
use super::pg;
use crate::error::Result;
use chrono::NaiveDateTime;
use std::path::{Path, PathBuf};

fn iso(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub fn hubspot(
    dir: &Path,
    client_id: &str,
    currency: &str,
    people: &[Person],
) -> Result<Vec<PathBuf>> {
    let folder = dir.join("exports").join(client_id).join("hubspot");
    std::fs::create_dir_all(&folder).map_err(|source| crate::DemoError::Io {
        path: folder.clone(),
        source,
    })?;
    let mut contacts = String::from(
        "hs_object_id,email,createdate,lifecyclestage,hs_lifecyclestage_lead_date,hs_lifecyclestage_marketingqualifiedlead_date,hs_lifecyclestage_opportunity_date,hs_lifecyclestage_customer_date,hs_analytics_source\n",
    );
    let mut deals = String::from(
        "hs_object_id,dealname,amount,deal_currency_code,dealstage,pipeline,createdate,closedate,hs_is_closed_won\n",
    );
    let mut assoc = String::from("deal_id,contact_id\n");
    for p in people {
        let Some(lead) = &p.lead else { continue };
        let id = 10_000 + p.index;
        let deal = lead.deal.as_ref();
        let stage = lifecycle_stage(lead);
        let opt = |t: Option<NaiveDateTime>| t.map(iso).unwrap_or_default();
        contacts.push_str(&format!(
            "{id},{},{},{stage},{},{},{},{},{}\n",
            p.email,
            iso(lead.created),
            iso(lead.created),
            opt(lead.mql),
            opt(deal.map(|d| d.created)),
            opt(deal.filter(|d| d.won).and_then(|d| d.closed)),
            if p.sessions[0].touch.is_paid_search() {
                "PAID_SEARCH"
            } else {
                "OTHER_CAMPAIGNS"
            }
        ));
        if let Some(d) = deal {
            let deal_id = 50_000 + p.index;
            let stage = match (d.closed, d.won) {
                (Some(_), true) => "closedwon",
                (Some(_), false) => "closedlost",
                _ => "qualifiedtobuy",
            };
            deals.push_str(&format!(
                "{deal_id},Deal {deal_id},{:.2},{currency},{stage},default,{},{},{}\n",
                d.amount,
                iso(d.created),
                opt(d.closed),
                d.won
            ));
            assoc.push_str(&format!("{deal_id},{id}\n"));
        }
    }
    let mut files = Vec::new();
    for (name, text) in [
        ("contacts.csv", contacts),
        ("deals.csv", deals),
        ("deal_contacts.csv", assoc),
    ] {
        let path = folder.join(name);
        save(&path, text.as_bytes(), false)?;
        files.push(path);
    }
    Ok(files)
}

/// The HubSpot lifecycle stage a lead has reached.
fn lifecycle_stage(lead: &Lead) -> &'static str {
    match &lead.deal {
        Some(d) if d.won => "customer",
        Some(_) => "opportunity",
        None if lead.mql.is_some() => "marketingqualifiedlead",
        None => "lead",
    }
}

/// A company's own CRM tables (contacts, deals, deal_contacts) as the `postgres` connector reads
/// them by default.
pub fn postgres_tables(currency: &str, people: &[Person]) -> Vec<pg::Table> {
    let ts = |t: Option<NaiveDateTime>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M:%S+00").to_string())
            .unwrap_or_default()
    };
    let (mut contacts, mut deals, mut links) = (String::new(), String::new(), String::new());
    for p in people {
        let Some(lead) = &p.lead else { continue };
        let id = 10_000 + p.index;
        let deal = lead.deal.as_ref();
        contacts.push_str(&format!(
            "{id},{},{},{},{},{},{},{},{},{}\n",
            p.email,
            ts(Some(lead.created)),
            // loopql's own stage names, as a company's database would hold them.
            match lifecycle_stage(lead) {
                "marketingqualifiedlead" => "mql",
                other => other,
            },
            ts(Some(lead.created)),
            ts(lead.mql),
            ts(deal.map(|d| d.created)),
            ts(deal.map(|d| d.created)),
            ts(deal.filter(|d| d.won).and_then(|d| d.closed)),
            if p.sessions[0].touch.is_paid_search() {
                "paid_search"
            } else {
                "other"
            }
        ));
        if let Some(d) = deal {
            let deal_id = 50_000 + p.index;
            let stage = match (d.closed, d.won) {
                (Some(_), true) => "won",
                (Some(_), false) => "lost",
                _ => "proposal",
            };
            deals.push_str(&format!(
                "{deal_id},Deal {deal_id},{:.2},{currency},{stage},{},{},{},{}\n",
                d.amount,
                ts(Some(d.created)),
                ts(d.closed),
                d.closed.is_some(),
                d.won
            ));
            links.push_str(&format!("{deal_id},{id},true\n"));
        }
    }
    vec![
        pg::Table::csv(
            "contacts",
            "contact_id bigint PRIMARY KEY, email text, created_at timestamptz, \
             lifecycle_stage text, lead_at timestamptz, mql_at timestamptz, \
             sql_at timestamptz, opportunity_at timestamptz, customer_at timestamptz, \
             original_source text",
            contacts,
        ),
        pg::Table::csv(
            "deals",
            "deal_id bigint PRIMARY KEY, name text, amount numeric(12, 2), currency text, \
             stage text, created_at timestamptz, closed_at timestamptz, \
             is_closed boolean, is_won boolean",
            deals,
        ),
        pg::Table::csv(
            "deal_contacts",
            "deal_id bigint, contact_id bigint, is_primary boolean",
            links,
        ),
    ]
}

pub fn salesforce(
    dir: &Path,
    client_id: &str,
    currency: &str,
    people: &[Person],
) -> Result<Vec<PathBuf>> {
    let folder = dir.join("exports").join(client_id).join("salesforce");
    std::fs::create_dir_all(&folder).map_err(|source| crate::DemoError::Io {
        path: folder.clone(),
        source,
    })?;
    let sf = |prefix: &str, n: usize| format!("{prefix}{n:015}");
    let mut leads = String::from(
        "Id,Email,Status,LeadSource,CreatedDate,IsConverted,ConvertedDate,ConvertedOpportunityId,ConvertedContactId\n",
    );
    let mut contacts = String::from("Id,Email,CreatedDate\n");
    let mut opps = String::from(
        "Id,Name,Amount,CurrencyIsoCode,StageName,CloseDate,IsClosed,IsWon,CampaignId,CreatedDate\n",
    );
    let mut roles = String::from("OpportunityId,ContactId,IsPrimary\n");
    // Two CRM-run campaigns: a webinar some leads attended, and a mailing others only received.
    let campaigns = format!(
        "Id,Name,Type,ActualCost,StartDate,EndDate\n{},Q1 Product Webinar,Webinar,1500.00,2024-01-01,2024-03-31\n{},Winter Mailing,Direct Mail,2400.00,2024-01-01,2024-03-31\n",
        sf("701", 1),
        sf("701", 2)
    );
    let mut members = String::from(
        "CampaignId,LeadId,ContactId,Status,HasResponded,FirstRespondedDate,CreatedDate\n",
    );
    let stamp = |t: NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
    for p in people {
        let Some(lead) = &p.lead else { continue };
        let lead_id = sf("00Q", p.index);
        if let Some(attended) = webinar(p) {
            // Attended the webinar the day before becoming a lead.
            members.push_str(&format!(
                "{},{lead_id},,Attended,true,{},{}\n",
                sf("701", 1),
                attended.date(),
                stamp(attended - chrono::Duration::days(3))
            ));
        } else if p.index % 7 == 0 {
            members.push_str(&format!(
                "{},{lead_id},,Sent,false,,{}\n",
                sf("701", 2),
                stamp(lead.created)
            ));
        }
        match &lead.deal {
            None => leads.push_str(&format!(
                "{lead_id},{},Open,Web,{},false,,,\n",
                p.email,
                stamp(lead.created)
            )),
            Some(d) => {
                let contact = sf("003", p.index);
                let opp = sf("006", p.index);
                leads.push_str(&format!(
                    "{lead_id},{},Converted,Web,{},true,{},{opp},{contact}\n",
                    p.email,
                    stamp(lead.created),
                    d.created.date()
                ));
                contacts.push_str(&format!("{contact},{},{}\n", p.email, stamp(d.created)));
                let (stage, close, closed) = match d.closed {
                    Some(c) => (
                        if d.won { "Closed Won" } else { "Closed Lost" },
                        c.date(),
                        true,
                    ),
                    None => (
                        "Negotiation",
                        d.created.date() + chrono::Duration::days(30),
                        false,
                    ),
                };
                opps.push_str(&format!(
                    "{opp},Opportunity {},{:.2},{currency},{stage},{close},{closed},{},,{}\n",
                    p.index,
                    d.amount,
                    d.won,
                    stamp(d.created)
                ));
                roles.push_str(&format!("{opp},{contact},true\n"));
            }
        }
    }
    let mut files = Vec::new();
    for (name, text) in [
        ("lead.csv", leads),
        ("contact.csv", contacts),
        ("opportunity.csv", opps),
        ("opportunity_contact_role.csv", roles),
        ("campaign.csv", campaigns),
        ("campaign_member.csv", members),
    ] {
        let path = folder.join(name);
        save(&path, text.as_bytes(), false)?;
        files.push(path);
    }
    Ok(files)
}

/// When a Salesforce client's person attended the CRM's webinar (the day before becoming a lead;
/// every fifth lead), if they did.
pub fn webinar(p: &Person) -> Option<NaiveDateTime> {
    let lead = p.lead.as_ref()?;
    p.index
        .is_multiple_of(5)
        .then(|| lead.created - chrono::Duration::days(1))
}
