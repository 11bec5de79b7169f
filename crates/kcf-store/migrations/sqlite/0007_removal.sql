-- What a deletion in the ERP does in the store (keep, hide, delete), for the entities that
-- have the choice; NULL for the others (and rows written before it existed: the entity's
-- default).
ALTER TABLE entity_settings ADD COLUMN on_removal TEXT;
