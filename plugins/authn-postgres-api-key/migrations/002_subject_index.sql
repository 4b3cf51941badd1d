-- `keys list --subject` and audits look keys up by subject.
CREATE INDEX IF NOT EXISTS {{table}}_subject ON {{schema}}.{{table}} (subject, created_at);
