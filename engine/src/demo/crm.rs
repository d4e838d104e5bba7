//! The journeys as the CRM saw them: HubSpot exports (contacts, deals, associations) or
//! Salesforce object exports (Lead, Contact, Opportunity, OpportunityContactRole).

use super::google_ads::save;
use super::journeys::Person;
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
    std::fs::create_dir_all(&folder).map_err(|source| crate::EngineError::Io {
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
        let won = deal.is_some_and(|d| d.won);
        let stage = if won {
            "customer"
        } else if deal.is_some() {
            "opportunity"
        } else if lead.mql.is_some() {
            "marketingqualifiedlead"
        } else {
            "lead"
        };
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

pub fn salesforce(
    dir: &Path,
    client_id: &str,
    currency: &str,
    people: &[Person],
) -> Result<Vec<PathBuf>> {
    let folder = dir.join("exports").join(client_id).join("salesforce");
    std::fs::create_dir_all(&folder).map_err(|source| crate::EngineError::Io {
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
    let stamp = |t: NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
    for p in people {
        let Some(lead) = &p.lead else { continue };
        let lead_id = sf("00Q", p.index);
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
    ] {
        let path = folder.join(name);
        save(&path, text.as_bytes(), false)?;
        files.push(path);
    }
    Ok(files)
}
