//! Customer, both ways: matched by binding, then by e-mail; never duplicated. The fingerprint
//! covers only the fields that travel, so our own write coming back as a notification is seen
//! as unchanged (loop suppression).

use kcf_acumatica::Precondition;
use kcf_bigcommerce::mapping as bc_map;
use kcf_domain::{Entity, MappingKind, records::CustomerRecord, records::fingerprint};

use crate::{
    connector::Ctx,
    error::{Applied, ApplyError, ApplyResult},
};

/// The fields both sides hold.
///
/// `erp_class` is the customer class as the ERP names it, when the customer-class mapping
/// links it to a store group (from either side), so both directions compute the same value
/// and a class change alone is still a change.
pub fn fingerprint_of(r: &CustomerRecord, erp_class: Option<&str>) -> String {
    fingerprint(&(
        r.email.trim().to_lowercase(),
        r.first_name.trim(),
        r.last_name.trim(),
        r.company.trim(),
        r.phone.trim(),
        erp_class.map(str::to_uppercase),
    ))
}

fn need_email(r: &CustomerRecord, side: &str) -> ApplyResult<()> {
    if r.email.trim().is_empty() || !r.email.contains('@') {
        return Err(ApplyError::Invalid(format!(
            "{side} customer {} has no usable e-mail address ('{}'); customers are matched by \
             e-mail, so add one",
            r.key, r.email
        )));
    }
    Ok(())
}

/// ERP customer `key` → store.
pub async fn to_store(ctx: &Ctx, key: &str) -> ApplyResult {
    let Some(customer) = ctx.conn.erp.customer(key).await? else {
        return Ok(Applied::deleted(format!(
            "customer {key} no longer exists in Acumatica"
        )));
    };
    let record = kcf_acumatica::mapping::customer(&customer);
    need_email(&record, "Acumatica")?;
    // The ERP's customer class becomes the store's customer group through the mapping; an
    // unmapped class leaves the group alone.
    let classes = ctx.mapping(MappingKind::CustomerClass).await?;
    let group = record
        .class
        .as_deref()
        .and_then(|c| classes.get(c).cloned());
    let fp = fingerprint_of(&record, record.class.as_deref().filter(|_| group.is_some()));
    let input = bc_map::customer_input(&CustomerRecord {
        class: group,
        ..record.clone()
    });
    if let Some(b) = ctx.by_erp(Entity::Customer, key).await? {
        if b.fingerprint.as_deref() == Some(fp.as_str()) {
            return Ok(Applied::processed(format!(
                "unchanged (store customer {})",
                b.external_id
            )));
        }
        if let Ok(id) = b.external_id.parse::<u64>() {
            ctx.sending(None, format!("BigCommerce customer {id} (update)"), &input);
            match ctx.conn.store.update_customer(id, &input).await {
                Ok(_) => {
                    ctx.bind(Entity::Customer, key, &b.external_id, Some(fp))
                        .await?;
                    return Ok(Applied::processed(format!("updated store customer {id}")));
                }
                Err(kcf_bigcommerce::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    if let Some(existing) = ctx.conn.store.customer_by_email(&record.email).await? {
        let id = existing.id.to_string();
        if let Some(other) = ctx.by_external(Entity::Customer, &id).await?
            && other.erp_key != key
        {
            return Err(ApplyError::Invalid(format!(
                "store customer {id} ({}) is already linked to Acumatica customer {}; two ERP \
                 customers share this e-mail",
                record.email, other.erp_key
            )));
        }
        ctx.sending(
            None,
            format!("BigCommerce customer {} (update)", existing.id),
            &input,
        );
        ctx.conn.store.update_customer(existing.id, &input).await?;
        ctx.bind(Entity::Customer, key, &id, Some(fp)).await?;
        return Ok(Applied::processed(format!(
            "matched store customer {id} by e-mail and updated it"
        )));
    }
    ctx.sending(None, "BigCommerce customer (create)", &input);
    let created = ctx.conn.store.create_customer(&input).await?;
    ctx.bind(Entity::Customer, key, &created.id.to_string(), Some(fp))
        .await?;
    Ok(Applied::processed(format!(
        "created store customer {}",
        created.id
    )))
}

/// Store customer `key` → ERP.
pub async fn to_erp(ctx: &Ctx, key: &str) -> ApplyResult {
    let id: u64 = key
        .parse()
        .map_err(|_| ApplyError::Invalid(format!("'{key}' is not a store customer id")))?;
    let Some(customer) = ctx.conn.store.customer(id).await? else {
        return Ok(Applied::deleted(format!(
            "store customer {id} no longer exists"
        )));
    };
    let record = bc_map::customer(&customer);
    need_email(&record, "store")?;
    let erp_id = upsert_in_erp(ctx, &record, Some(key)).await?;
    Ok(Applied::processed(erp_id.1.replace("{}", &erp_id.0)))
}

/// Finds or creates the ERP customer for `record` (bound to store customer `external`, when
/// it has one); returns its CustomerID and a note with `{}` for the id.
pub async fn upsert_in_erp(
    ctx: &Ctx,
    record: &CustomerRecord,
    external: Option<&str>,
) -> ApplyResult<(String, &'static str)> {
    // The store's customer group becomes the ERP's customer class through the mapping; an
    // unmapped group leaves the class to Acumatica's default.
    let classes = ctx.mapping(MappingKind::CustomerClass).await?;
    let class = record
        .class
        .as_deref()
        .and_then(|group| super::store_to_erp(&classes, group));
    let class = class.as_deref();
    let fp = &fingerprint_of(record, class);
    if let Some(ext) = external
        && let Some(b) = ctx.by_external(Entity::Customer, ext).await?
    {
        if b.fingerprint.as_deref() == Some(fp) {
            return Ok((b.erp_key, "unchanged (Acumatica customer {})"));
        }
        let body = kcf_acumatica::mapping::customer_body(&b.erp_key, record, class);
        ctx.sending(
            None,
            format!("Acumatica Customer {} (update)", b.erp_key),
            &body,
        );
        match ctx
            .conn
            .erp
            .put_customer(&body, Precondition::MustExist)
            .await
        {
            Ok(_) => {
                ctx.bind(Entity::Customer, &b.erp_key, ext, Some(fp.to_owned()))
                    .await?;
                return Ok((b.erp_key, "updated Acumatica customer {}"));
            }
            Err(e) if e.status() == Some(412) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(existing) = ctx.conn.erp.customer_by_email(&record.email).await? {
        let erp_key = existing.customer_id.clone();
        if let Some(ext) = external {
            if let Some(other) = ctx.by_erp(Entity::Customer, &erp_key).await?
                && other.external_id != ext
            {
                // The ERP account already has a store twin; this one is matched, not bound.
                return Ok((erp_key, "matched Acumatica customer {} by e-mail"));
            }
            ctx.bind(Entity::Customer, &erp_key, ext, Some(fp.to_owned()))
                .await?;
        }
        return Ok((erp_key, "matched Acumatica customer {} by e-mail"));
    }
    let base = kcf_acumatica::mapping::new_customer_id(record);
    for attempt in 0..5 {
        let candidate = kcf_acumatica::mapping::customer_id_with_suffix(&base, attempt);
        let body = kcf_acumatica::mapping::customer_body(&candidate, record, class);
        ctx.sending(
            None,
            format!("Acumatica Customer {candidate} (create)"),
            &body,
        );
        match ctx
            .conn
            .erp
            .put_customer(&body, Precondition::MustNotExist)
            .await
        {
            Ok(_) => {
                if let Some(ext) = external {
                    ctx.bind(Entity::Customer, &candidate, ext, Some(fp.to_owned()))
                        .await?;
                }
                return Ok((candidate, "created Acumatica customer {}"));
            }
            // Taken: by another worker creating this very customer a moment ago (then it
            // is found by e-mail now), or by someone else (then try the next id).
            Err(e) if e.status() == Some(412) => {
                if let Some(existing) = ctx.conn.erp.customer_by_email(&record.email).await? {
                    let erp_key = existing.customer_id.clone();
                    if let Some(ext) = external
                        && ctx.by_erp(Entity::Customer, &erp_key).await?.is_none()
                    {
                        ctx.bind(Entity::Customer, &erp_key, ext, Some(fp.to_owned()))
                            .await?;
                    }
                    return Ok((erp_key, "matched Acumatica customer {} by e-mail"));
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApplyError::Invalid(format!(
        "could not find a free Acumatica CustomerID for {} (tried {base} and 4 more)",
        record.email
    )))
}
