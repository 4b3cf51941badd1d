-- The keys table: only SHA-256 digests of keys, with a short display prefix.
-- {{schema}}, {{table}} and {{channel}} are replaced with the configured names.
CREATE TABLE IF NOT EXISTS {{schema}}.{{table}} (
  id           text        PRIMARY KEY DEFAULT gen_random_uuid()::text,
  digest       bytea       NOT NULL UNIQUE CHECK (octet_length(digest) = 32),
  prefix       text        NOT NULL,
  subject      text        NOT NULL,
  tenant       text,
  groups       text[]      NOT NULL DEFAULT '{}',
  models       text[],
  expires_at   timestamptz,
  revoked_at   timestamptz,
  metadata     jsonb       NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz
);

-- Every change but a last_used_at update is announced with the digest (hex), so every
-- instance drops its cache entry at once.
CREATE OR REPLACE FUNCTION {{schema}}.{{table}}_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND (to_jsonb(NEW) - 'last_used_at') = (to_jsonb(OLD) - 'last_used_at') THEN
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    PERFORM pg_notify('{{channel}}', encode(OLD.digest, 'hex'));
  END IF;
  IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.digest <> OLD.digest) THEN
    PERFORM pg_notify('{{channel}}', encode(NEW.digest, 'hex'));
  END IF;
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS {{table}}_notify ON {{schema}}.{{table}};
CREATE TRIGGER {{table}}_notify
  AFTER INSERT OR UPDATE OR DELETE ON {{schema}}.{{table}}
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.{{table}}_notify();
