-- An Idempotency-Key is kept as it came: a header value, one character per byte (Bun reads headers as
-- Latin-1). PRODUCT.md allows 1-255 characters, which src/idempotency/idempotency.ts counts in the key's
-- UTF-8 reading when it is UTF-8: up to 4 bytes each, so a valid key is up to 1,020 characters as stored.
-- The old check (255 as stored) refused valid keys of 86 three-byte characters and more with a 500 from
-- the constraint (stop 17's hostile probe). The application checks the contract's limit; this check only
-- bounds what any key can be.
alter table idempotency_keys drop constraint idempotency_keys_idempotency_key_check;
alter table idempotency_keys add constraint idempotency_keys_idempotency_key_check
  check (char_length(idempotency_key) between 1 and 1020);
