//! Customer, both ways: matched by binding, then by e-mail; never duplicated. The fingerprint
//! covers only the fields that travel, so our own write coming back as a notification is seen
//! as unchanged (loop suppression).

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
    let erp_name = ctx.erp().platform().label();
    let Some(record) = ctx.erp().customer(key).await? else {
        return Ok(Applied::deleted(format!(
            "customer {key} no longer exists in {erp_name}"
        )));
    };
    need_email(&record, erp_name)?;
    // The ERP's customer class becomes the store's customer group through the mapping; an
    // unmapped class leaves the group alone.
    let classes = ctx.mapping(MappingKind::CustomerClass).await?;
    let group = record
        .class
        .as_deref()
        .and_then(|c| classes.get(c).cloned());
    let fp = fingerprint_of(&record, record.class.as_deref().filter(|_| group.is_some()));
    let input = CustomerRecord {
        class: group,
        ..record.clone()
    };
    if let Some(b) = ctx.by_erp(Entity::Customer, key).await? {
        if b.fingerprint.as_deref() == Some(fp.as_str()) {
            return Ok(Applied::processed(format!(
                "unchanged (store customer {})",
                b.external_id
            )));
        }
        if !b.external_id.trim().is_empty() {
            let id = &b.external_id;
            match ctx.shop().update_customer(id, &input, ctx).await {
                Ok(()) => {
                    ctx.bind(Entity::Customer, key, id, Some(fp)).await?;
                    return Ok(Applied::processed(format!("updated store customer {id}")));
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    if let Some(id) = ctx.shop().customer_by_email(&record.email).await? {
        if let Some(other) = ctx.by_external(Entity::Customer, &id).await?
            && other.erp_key != key
        {
            return Err(ApplyError::Invalid(format!(
                "store customer {id} ({}) is already linked to {erp_name} customer {}; two ERP \
                 customers share this e-mail",
                record.email, other.erp_key
            )));
        }
        ctx.shop().update_customer(&id, &input, ctx).await?;
        ctx.bind(Entity::Customer, key, &id, Some(fp)).await?;
        return Ok(Applied::processed(format!(
            "matched store customer {id} by e-mail and updated it"
        )));
    }
    let created = ctx.shop().create_customer(&input, ctx).await?;
    ctx.bind(Entity::Customer, key, &created, Some(fp)).await?;
    Ok(Applied::processed(format!(
        "created store customer {created}"
    )))
}

/// Store customer `key` → ERP.
pub async fn to_erp(ctx: &Ctx, key: &str) -> ApplyResult {
    ctx.shop().check_id(Entity::Customer, key)?;
    let Some(record) = ctx.shop().customer(key).await? else {
        return Ok(Applied::deleted(format!(
            "store customer {key} no longer exists"
        )));
    };
    need_email(&record, "store")?;
    let erp_id = upsert_in_erp(ctx, &record, Some(key)).await?;
    Ok(Applied::processed(erp_id.1.replace("{}", &erp_id.0)))
}

/// Finds or creates the ERP customer for `record` (bound to store customer `external`, when
/// it has one); returns its key and a note with `{}` for the key.
pub async fn upsert_in_erp(
    ctx: &Ctx,
    record: &CustomerRecord,
    external: Option<&str>,
) -> ApplyResult<(String, String)> {
    let erp = ctx.erp();
    let name = erp.platform().label();
    // The store's customer group becomes the ERP's customer class through the mapping; an
    // unmapped group leaves the class to the ERP's default.
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
            return Ok((b.erp_key, format!("unchanged ({name} customer {{}})")));
        }
        match erp.update_customer(&b.erp_key, record, class, ctx).await {
            Ok(()) => {
                ctx.bind(Entity::Customer, &b.erp_key, ext, Some(fp.to_owned()))
                    .await?;
                return Ok((b.erp_key, format!("updated {name} customer {{}}")));
            }
            // Gone from the ERP: found by e-mail or created again below.
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    let matched = format!("matched {name} customer {{}} by e-mail");
    if let Some(erp_key) = erp.customer_by_email(&record.email).await? {
        if let Some(ext) = external {
            if let Some(other) = ctx.by_erp(Entity::Customer, &erp_key).await?
                && other.external_id != ext
            {
                // The ERP account already has a store twin; this one is matched, not bound.
                return Ok((erp_key, matched));
            }
            ctx.bind(Entity::Customer, &erp_key, ext, Some(fp.to_owned()))
                .await?;
        }
        return Ok((erp_key, matched));
    }
    let candidates = erp.new_customer_keys(record);
    for candidate in &candidates {
        match erp.create_customer(candidate, record, class, ctx).await {
            Ok(()) => {
                if let Some(ext) = external {
                    ctx.bind(Entity::Customer, candidate, ext, Some(fp.to_owned()))
                        .await?;
                }
                return Ok((candidate.clone(), format!("created {name} customer {{}}")));
            }
            // Taken: by another worker creating this very customer a moment ago (then it
            // is found by e-mail now), or by someone else (then try the next key).
            Err(e) if e.is_conflict() => {
                if let Some(erp_key) = erp.customer_by_email(&record.email).await? {
                    if let Some(ext) = external
                        && ctx.by_erp(Entity::Customer, &erp_key).await?.is_none()
                    {
                        ctx.bind(Entity::Customer, &erp_key, ext, Some(fp.to_owned()))
                            .await?;
                    }
                    return Ok((erp_key, matched));
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApplyError::Invalid(format!(
        "could not find a free {name} CustomerID for {} (tried {} and {} more)",
        record.email,
        candidates.first().map_or("", String::as_str),
        candidates.len().saturating_sub(1)
    )))
}
