/* kpi--0.5--0.6.sql: release 0.6 of kpi: reviews (复盘) — meetings,
 * findings, actions, their history and a lessons search — and row-level
 * security by organisation scope. */

\echo Use "ALTER EXTENSION kpi UPDATE TO '0.6'" to load this file. \quit

-- ---------------------------------------------------------------------
-- Who sees which scopes.  kpi.scope_member says which roles are members of
-- which scopes; a member sees the scope and its whole subtree.  No role is
-- created by the extension: the administrator grants membership.
-- ---------------------------------------------------------------------

CREATE TABLE kpi.scope_member (
    role       name NOT NULL,
    scope_id   bigint NOT NULL REFERENCES kpi.scope (id) ON DELETE CASCADE,
    granted_by name NOT NULL DEFAULT CURRENT_USER,
    granted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (role, scope_id)
);
CREATE INDEX scope_member_scope ON kpi.scope_member (scope_id);
COMMENT ON TABLE kpi.scope_member IS
    'row-level security: a role (or any role that inherits from it) sees and writes the rows of these scopes and of every scope below them';
COMMENT ON COLUMN kpi.scope_member.role IS 'the role, by name; roles that inherit its privileges are members too';
COMMENT ON COLUMN kpi.scope_member.scope_id IS 'the scope; membership covers its whole subtree';
COMMENT ON COLUMN kpi.scope_member.granted_by IS 'who granted the membership';
COMMENT ON COLUMN kpi.scope_member.granted_at IS 'when the membership was granted';

-- a membership names a role that exists (a typo would silently grant nothing)
CREATE FUNCTION kpi.scope_member_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) NEW.role) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'undefined_object',
            MESSAGE = format('role "%s" does not exist', NEW.role),
            HINT = 'Create the role first; kpi.scope_member names existing roles.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION kpi.scope_member_check() IS 'trigger: refuse a membership for a role that does not exist';
CREATE TRIGGER scope_member_check BEFORE INSERT OR UPDATE OF role ON kpi.scope_member
    FOR EACH ROW EXECUTE FUNCTION kpi.scope_member_check();

CREATE FUNCTION kpi.visible_scopes() RETURNS bigint[]
    AS 'MODULE_PATHNAME', 'kpi_visible_scopes'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION kpi.visible_scopes() IS
    'ids of the scopes the current role sees (its memberships and their subtrees), or NULL when it sees everything (superuser, BYPASSRLS, the extension''s owner, or a member of every scope)';

-- Period comparisons never fail and reveal nothing but their answer: marked
-- LEAKPROOF, a period condition can use an index under row-level security.
ALTER FUNCTION kpi.period_eq(kpi.period, kpi.period) LEAKPROOF;
ALTER FUNCTION kpi.period_ne(kpi.period, kpi.period) LEAKPROOF;
ALTER FUNCTION kpi.period_lt(kpi.period, kpi.period) LEAKPROOF;
ALTER FUNCTION kpi.period_le(kpi.period, kpi.period) LEAKPROOF;
ALTER FUNCTION kpi.period_gt(kpi.period, kpi.period) LEAKPROOF;
ALTER FUNCTION kpi.period_ge(kpi.period, kpi.period) LEAKPROOF;

-- ---------------------------------------------------------------------
-- History is written with the owner's rights, so that no writer needs (or
-- has) the right to write history of its own; kpi.actor() names the role
-- that made the change.  A restore counts only when a superuser or the
-- owner runs it (kpi.in_restore()).
-- ---------------------------------------------------------------------

CREATE FUNCTION kpi.actor() RETURNS name
    AS 'MODULE_PATHNAME', 'kpi_actor'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION kpi.actor() IS
    'the role a change is made by: the session''s role as SET ROLE leaves it, also inside owner-rights functions (where CURRENT_USER is the owner)';
COMMENT ON FUNCTION kpi.in_restore() IS
    'true in a session that restores a pg_dump dump (check_function_bodies and row_security both off) run by a superuser or the extension''s owner: triggers then derive no history or alerts, which the dump brings';

CREATE OR REPLACE FUNCTION kpi.indicator_log() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET extra_float_digits = 1
AS $$
BEGIN
    IF TG_TABLE_SCHEMA <> 'kpi' OR TG_TABLE_NAME <> 'indicator' OR TG_WHEN <> 'AFTER' OR TG_LEVEL <> 'ROW' THEN
        RAISE EXCEPTION USING ERRCODE = 'E0001',   -- trigger_protocol_violated
            MESSAGE = 'kpi.indicator_log() fires only AFTER ... FOR EACH ROW on kpi.indicator';
    END IF;
    IF (TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW) OR kpi.in_restore() THEN
        RETURN NULL;
    END IF;
    INSERT INTO kpi.indicator_history (indicator_id, op, changed_by, old_row, new_row)
    VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END, TG_OP, kpi.actor(),
            CASE WHEN TG_OP <> 'INSERT' THEN pg_catalog.to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN pg_catalog.to_jsonb(NEW) END);
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION kpi.indicator_log() FROM PUBLIC;

CREATE OR REPLACE FUNCTION kpi.target_log() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r kpi.target;
BEGIN
    IF TG_TABLE_SCHEMA <> 'kpi' OR TG_TABLE_NAME <> 'target' OR TG_WHEN <> 'AFTER' OR TG_LEVEL <> 'ROW' THEN
        RAISE EXCEPTION USING ERRCODE = 'E0001',   -- trigger_protocol_violated
            MESSAGE = 'kpi.target_log() fires only AFTER ... FOR EACH ROW on kpi.target';
    END IF;
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF (TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW) OR kpi.in_restore() THEN
        RETURN NULL;
    END IF;
    INSERT INTO kpi.target_history (target_id, indicator_id, scope_id, period, op, old_goal, new_goal, note, changed_by)
    VALUES (r.id, r.indicator_id, r.scope_id, r.period, TG_OP,
            CASE WHEN TG_OP <> 'INSERT' THEN OLD.goal END,
            CASE WHEN TG_OP <> 'DELETE' THEN NEW.goal END, r.note, kpi.actor());
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION kpi.target_log() FROM PUBLIC;

-- ---------------------------------------------------------------------
-- Reviews (复盘): a meeting for a period and a scope, its findings, the
-- actions they lead to.  Every change is kept in kpi.review_history.
-- ---------------------------------------------------------------------

CREATE TABLE kpi.review (
    id          bigserial PRIMARY KEY,
    title       text NOT NULL,
    period      kpi.period NOT NULL,
    scope_id    bigint NOT NULL REFERENCES kpi.scope (id),
    held_at     timestamptz,
    facilitator text,
    summary     text,
    state       text NOT NULL DEFAULT 'planned',
    created_by  name NOT NULL DEFAULT CURRENT_USER,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT review_state CHECK (state IN ('planned', 'held', 'closed')),
    CONSTRAINT review_held_at CHECK (state = 'planned' OR held_at IS NOT NULL),
    CONSTRAINT review_title CHECK (pg_catalog.btrim(title) <> '')
);
CREATE INDEX review_scope_period ON kpi.review (scope_id, period);
COMMENT ON TABLE kpi.review IS 'reviews (复盘): a meeting on one period of one scope; planned, then held, then closed';
COMMENT ON COLUMN kpi.review.id IS 'the review''s id';
COMMENT ON COLUMN kpi.review.title IS 'what the meeting is called, e.g. 2026-Q2 华北大区复盘';
COMMENT ON COLUMN kpi.review.period IS 'the period reviewed';
COMMENT ON COLUMN kpi.review.scope_id IS 'the scope reviewed (its whole subtree); members of it see the review';
COMMENT ON COLUMN kpi.review.held_at IS 'when the meeting is planned or was held; required once held, never before the period starts';
COMMENT ON COLUMN kpi.review.facilitator IS 'who runs the meeting';
COMMENT ON COLUMN kpi.review.summary IS 'the meeting''s conclusion';
COMMENT ON COLUMN kpi.review.state IS 'planned -> held -> closed (a closed review may be held again to correct it)';
COMMENT ON COLUMN kpi.review.created_by IS 'the role that created the review';
COMMENT ON COLUMN kpi.review.created_at IS 'when the review was created';
COMMENT ON COLUMN kpi.review.updated_at IS 'when the review last changed';

CREATE TABLE kpi.finding (
    id             bigserial PRIMARY KEY,
    review_id      bigint NOT NULL REFERENCES kpi.review (id) ON DELETE CASCADE,
    indicator_id   bigint NOT NULL REFERENCES kpi.indicator (id),
    scope_id       bigint NOT NULL REFERENCES kpi.scope (id),
    alert_id       bigint REFERENCES kpi.alert (id) ON DELETE SET NULL,
    kind           text NOT NULL DEFAULT 'gap',
    summary        text,
    cause_category text,
    root_cause     text,
    lesson         text,
    created_by     name NOT NULL DEFAULT CURRENT_USER,
    created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT finding_kind CHECK (kind IN ('gap', 'success'))
);
CREATE INDEX finding_review ON kpi.finding (review_id);
CREATE INDEX finding_indicator ON kpi.finding (indicator_id);
CREATE INDEX finding_alert ON kpi.finding (alert_id) WHERE alert_id IS NOT NULL;
COMMENT ON TABLE kpi.finding IS 'findings of a review: a gap or a success on one indicator, its cause and the lesson drawn (经验沉淀)';
COMMENT ON COLUMN kpi.finding.id IS 'the finding''s id';
COMMENT ON COLUMN kpi.finding.review_id IS 'the review that made the finding';
COMMENT ON COLUMN kpi.finding.indicator_id IS 'the indicator it is about';
COMMENT ON COLUMN kpi.finding.scope_id IS 'the scope it is about: the review''s scope or one below it (default: the alert''s scope, else the review''s)';
COMMENT ON COLUMN kpi.finding.alert_id IS 'the alert that prompted it, if any; must be about the same indicator';
COMMENT ON COLUMN kpi.finding.kind IS 'gap (fell short) or success (worth repeating)';
COMMENT ON COLUMN kpi.finding.summary IS 'what was observed';
COMMENT ON COLUMN kpi.finding.cause_category IS 'a category of cause, free text (e.g. people, process, equipment, material, supplier, market, data)';
COMMENT ON COLUMN kpi.finding.root_cause IS 'the root cause (根因); searched by kpi.lessons()';
COMMENT ON COLUMN kpi.finding.lesson IS 'the lesson to keep (经验教训); searched by kpi.lessons()';
COMMENT ON COLUMN kpi.finding.created_by IS 'the role that recorded the finding';
COMMENT ON COLUMN kpi.finding.created_at IS 'when the finding was recorded';
COMMENT ON COLUMN kpi.finding.updated_at IS 'when the finding last changed';

CREATE TABLE kpi.action (
    id         bigserial PRIMARY KEY,
    finding_id bigint NOT NULL REFERENCES kpi.finding (id) ON DELETE CASCADE,
    title      text NOT NULL,
    owner      text NOT NULL,
    due        date NOT NULL,
    state      text NOT NULL DEFAULT 'open',
    outcome    text,
    closed_at  timestamptz,
    created_by name NOT NULL DEFAULT CURRENT_USER,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT action_state CHECK (state IN ('open', 'in_progress', 'done', 'dropped')),
    CONSTRAINT action_closed_at CHECK ((state IN ('done', 'dropped')) = (closed_at IS NOT NULL)),
    CONSTRAINT action_title CHECK (pg_catalog.btrim(title) <> ''),
    CONSTRAINT action_owner CHECK (pg_catalog.btrim(owner) <> '')
);
CREATE INDEX action_finding ON kpi.action (finding_id);
CREATE INDEX action_due ON kpi.action (due) WHERE state IN ('open', 'in_progress');
COMMENT ON TABLE kpi.action IS 'actions decided on a finding: an owner, a due date, open -> in_progress -> done or dropped';
COMMENT ON COLUMN kpi.action.id IS 'the action''s id';
COMMENT ON COLUMN kpi.action.finding_id IS 'the finding it answers';
COMMENT ON COLUMN kpi.action.title IS 'what will be done';
COMMENT ON COLUMN kpi.action.owner IS 'who is responsible (责任人): a person, not necessarily a database role';
COMMENT ON COLUMN kpi.action.due IS 'the date it is due (in the company''s time zone); not before the reviewed period starts';
COMMENT ON COLUMN kpi.action.state IS 'open -> in_progress -> done or dropped (open may go straight to done or dropped); done and dropped are final';
COMMENT ON COLUMN kpi.action.outcome IS 'what came of it; required to drop an action';
COMMENT ON COLUMN kpi.action.closed_at IS 'when it was done or dropped (set by kpi)';
COMMENT ON COLUMN kpi.action.created_by IS 'the role that recorded the action';
COMMENT ON COLUMN kpi.action.created_at IS 'when the action was recorded';
COMMENT ON COLUMN kpi.action.updated_at IS 'when the action last changed';

CREATE TABLE kpi.review_history (
    id         bigserial PRIMARY KEY,
    review_id  bigint NOT NULL,
    entity     text NOT NULL CHECK (entity IN ('review', 'finding', 'action')),
    entity_id  bigint NOT NULL,
    op         text NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'DELETE')),
    old_state  text,
    new_state  text,
    changed_by name NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    old_row    jsonb,
    new_row    jsonb
);
CREATE INDEX review_history_review ON kpi.review_history (review_id, id);
CREATE INDEX review_history_entity ON kpi.review_history (entity, entity_id, id);
COMMENT ON TABLE kpi.review_history IS 'every change of a review, finding or action: who, when, the state before and after, the old and new row (written by kpi only)';
COMMENT ON COLUMN kpi.review_history.id IS 'order of the changes';
COMMENT ON COLUMN kpi.review_history.review_id IS 'the review the changed row belongs to';
COMMENT ON COLUMN kpi.review_history.entity IS 'review, finding or action';
COMMENT ON COLUMN kpi.review_history.entity_id IS 'the id of the changed row';
COMMENT ON COLUMN kpi.review_history.op IS 'INSERT, UPDATE or DELETE';
COMMENT ON COLUMN kpi.review_history.old_state IS 'the state before (reviews and actions; the kind for findings)';
COMMENT ON COLUMN kpi.review_history.new_state IS 'the state after (reviews and actions; the kind for findings)';
COMMENT ON COLUMN kpi.review_history.changed_by IS 'the role that made the change (kpi.actor(): the session''s role, as SET ROLE leaves it)';
COMMENT ON COLUMN kpi.review_history.changed_at IS 'when';
COMMENT ON COLUMN kpi.review_history.old_row IS 'the row before, as JSON';
COMMENT ON COLUMN kpi.review_history.new_row IS 'the row after, as JSON';

-- The company's today: due dates and overdue days are counted in its zone.
CREATE FUNCTION kpi.today(at timestamptz DEFAULT pg_catalog.now()) RETURNS date
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT (at AT TIME ZONE kpi.time_zone())::date;
END;
COMMENT ON FUNCTION kpi.today(timestamptz) IS 'the date of a time (default now) in the company''s time zone (kpi.time_zone())';

-- raise a check_violation with a message and a detail
CREATE FUNCTION kpi.refuse(message text, detail text, errcode text DEFAULT 'check_violation') RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = errcode, MESSAGE = message, DETAIL = detail;
END
$$;
COMMENT ON FUNCTION kpi.refuse(text, text, text) IS 'internal: raise an error with a message, a detail and an SQLSTATE (default check_violation)';

-- Reviews: valid states and transitions, held_at set when held and never
-- before the period starts.  Inserts may come in any state (a review held
-- last week is recorded as held); updates follow planned -> held -> closed.
CREATE FUNCTION kpi.review_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.state IS NULL OR NEW.state NOT IN ('planned', 'held', 'closed') THEN
        PERFORM kpi.refuse(format('invalid review state: "%s"', NEW.state),
                           'A review is planned, held or closed.');
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.state <> OLD.state
       AND NOT (OLD.state, NEW.state) IN (('planned', 'held'), ('held', 'closed'), ('closed', 'held')) THEN
        PERFORM kpi.refuse(format('review %s cannot go from %s to %s', NEW.id, OLD.state, NEW.state),
                           'A review goes planned -> held -> closed; a closed review may be held again.',
                           'object_not_in_prerequisite_state');
    END IF;
    IF NEW.state <> 'planned' AND NEW.held_at IS NULL THEN
        NEW.held_at := pg_catalog.now();
    END IF;
    IF NEW.held_at IS NOT NULL AND kpi.today(NEW.held_at) < kpi.start_date(NEW.period) THEN
        PERFORM kpi.refuse(format('review of %s cannot be held on %s', NEW.period, kpi.today(NEW.held_at)),
                           format('%s starts on %s.', NEW.period, kpi.start_date(NEW.period)));
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION kpi.review_check() IS 'trigger: check a review''s state, transition and date';
CREATE TRIGGER review_check BEFORE INSERT OR UPDATE ON kpi.review
    FOR EACH ROW EXECUTE FUNCTION kpi.review_check();

-- Findings: a valid kind, a scope inside the review's, an alert about the
-- same indicator, and no changes once the review is closed.
CREATE FUNCTION kpi.finding_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rv kpi.review;
    al kpi.alert;
    have_review boolean;
    scope_code text;
BEGIN
    -- FOR SHARE: a review being closed concurrently is waited for and then
    -- seen closed, so no finding slips into a closed review
    SELECT * INTO rv FROM kpi.review r
    WHERE r.id OPERATOR(pg_catalog.=) CASE WHEN TG_OP = 'DELETE' THEN OLD.review_id ELSE NEW.review_id END
    FOR SHARE;
    have_review := FOUND;   -- not when the review is being deleted, or is unknown or unseen
    IF NOT have_review AND TG_OP <> 'DELETE' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation',
            MESSAGE = format('unknown review id: %s', NEW.review_id),
            HINT = 'A role sees the reviews of its scopes.';
    END IF;
    IF have_review AND rv.state = 'closed' THEN
        PERFORM kpi.refuse(format('review %s is closed', rv.id),
                           'Its findings no longer change; hold the review again to correct them.',
                           'object_not_in_prerequisite_state');
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF NEW.kind IS NULL OR NEW.kind NOT IN ('gap', 'success') THEN
        PERFORM kpi.refuse(format('invalid finding kind: "%s"', NEW.kind),
                           'A finding is a gap or a success.');
    END IF;
    IF NEW.alert_id IS NOT NULL THEN
        SELECT * INTO al FROM kpi.alert a WHERE a.id OPERATOR(pg_catalog.=) NEW.alert_id;
        IF NOT FOUND THEN   -- unknown, or outside the writer's scopes
            PERFORM kpi.alert_not_found(NEW.alert_id);
        END IF;
        IF al.indicator_id OPERATOR(pg_catalog.<>) NEW.indicator_id THEN
            PERFORM kpi.refuse(format('alert %s is about another indicator than finding %s', al.id, NEW.id),
                               'A finding and the alert that prompted it are about the same indicator.');
        END IF;
        NEW.scope_id := coalesce(NEW.scope_id, al.scope_id);
    END IF;
    NEW.scope_id := coalesce(NEW.scope_id, rv.scope_id);
    -- walk up from the finding's scope (an unknown one is the foreign key's to refuse)
    SELECT s.code INTO scope_code FROM kpi.scope s WHERE s.id OPERATOR(pg_catalog.=) NEW.scope_id;
    IF have_review AND scope_code IS NOT NULL
       AND NOT EXISTS (SELECT FROM kpi.scope_ancestors(scope_code) a
                       WHERE a.id OPERATOR(pg_catalog.=) rv.scope_id) THEN
        PERFORM kpi.refuse(format('finding of review %s is about a scope outside the review''s', rv.id),
                           'A finding''s scope is the review''s scope or one below it.');
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION kpi.finding_check() IS 'trigger: check a finding''s kind, scope and alert, and that its review is not closed';
CREATE TRIGGER finding_check BEFORE INSERT OR UPDATE OR DELETE ON kpi.finding
    FOR EACH ROW EXECUTE FUNCTION kpi.finding_check();

-- Actions: valid states and transitions, closed_at kept, a reason to
-- drop, and a due date not before the reviewed period.
CREATE FUNCTION kpi.action_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p kpi.period;
BEGIN
    IF NEW.state IS NULL OR NEW.state NOT IN ('open', 'in_progress', 'done', 'dropped') THEN
        PERFORM kpi.refuse(format('invalid action state: "%s"', NEW.state),
                           'An action is open, in_progress, done or dropped.');
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.state <> OLD.state
       AND NOT (OLD.state, NEW.state) IN (('open', 'in_progress'), ('open', 'done'), ('open', 'dropped'),
                                          ('in_progress', 'done'), ('in_progress', 'dropped')) THEN
        PERFORM kpi.refuse(format('action %s cannot go from %s to %s', NEW.id, OLD.state, NEW.state),
                           CASE WHEN OLD.state IN ('done', 'dropped')
                                THEN format('The action is %s, which is final; record a new action instead.', OLD.state)
                                ELSE 'An action goes open -> in_progress -> done or dropped.' END,
                           'object_not_in_prerequisite_state');
    END IF;
    IF NEW.state = 'dropped' AND coalesce(pg_catalog.btrim(NEW.outcome), '') = '' THEN
        PERFORM kpi.refuse(format('action %s cannot be dropped without an outcome', NEW.id),
                           'Say in outcome why the action was dropped.');
    END IF;
    IF NEW.state IN ('done', 'dropped') THEN
        IF TG_OP = 'INSERT' OR OLD.state NOT IN ('done', 'dropped') THEN
            NEW.closed_at := coalesce(NEW.closed_at, pg_catalog.now());
        END IF;
    ELSE
        NEW.closed_at := NULL;
    END IF;
    SELECT r.period INTO p FROM kpi.finding f JOIN kpi.review r ON r.id OPERATOR(pg_catalog.=) f.review_id
    WHERE f.id OPERATOR(pg_catalog.=) NEW.finding_id;
    IF NEW.due < kpi.start_date(p) THEN
        PERFORM kpi.refuse(format('action due %s is before the reviewed period %s', NEW.due, p),
                           format('%s starts on %s.', p, kpi.start_date(p)));
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION kpi.action_check() IS 'trigger: check an action''s state, transition, outcome and due date';
CREATE TRIGGER action_check BEFORE INSERT OR UPDATE ON kpi.action
    FOR EACH ROW EXECUTE FUNCTION kpi.action_check();

-- History is written with the owner's rights (see above).
CREATE FUNCTION kpi.review_log() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET extra_float_digits = 1
AS $$
DECLARE
    r record;
    rid bigint;
    st_old text;
    st_new text;
BEGIN
    IF TG_TABLE_SCHEMA <> 'kpi' OR TG_TABLE_NAME NOT IN ('review', 'finding', 'action')
       OR TG_WHEN <> 'AFTER' OR TG_LEVEL <> 'ROW' THEN
        RAISE EXCEPTION USING ERRCODE = 'E0001',   -- trigger_protocol_violated
            MESSAGE = 'kpi.review_log() fires only AFTER ... FOR EACH ROW on kpi.review, kpi.finding and kpi.action';
    END IF;
    IF (TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW) OR kpi.in_restore() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF TG_TABLE_NAME = 'review' THEN
        rid := r.id;
    ELSIF TG_TABLE_NAME = 'finding' THEN
        rid := r.review_id;
    ELSE
        SELECT f.review_id INTO rid FROM kpi.finding f WHERE f.id OPERATOR(pg_catalog.=) r.finding_id;
        IF rid IS NULL THEN   -- the finding is being deleted with its review
            RETURN NULL;
        END IF;
    END IF;
    IF TG_TABLE_NAME = 'finding' THEN
        IF TG_OP <> 'INSERT' THEN st_old := OLD.kind; END IF;
        IF TG_OP <> 'DELETE' THEN st_new := NEW.kind; END IF;
    ELSE
        IF TG_OP <> 'INSERT' THEN st_old := OLD.state; END IF;
        IF TG_OP <> 'DELETE' THEN st_new := NEW.state; END IF;
    END IF;
    INSERT INTO kpi.review_history (review_id, entity, entity_id, op, old_state, new_state, changed_by,
                                    old_row, new_row)
    VALUES (rid, TG_TABLE_NAME, r.id, TG_OP, st_old, st_new,
            kpi.actor(),
            CASE WHEN TG_OP <> 'INSERT' THEN pg_catalog.to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN pg_catalog.to_jsonb(NEW) END);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION kpi.review_log() IS 'trigger: record every change of a review, finding or action in kpi.review_history';
REVOKE EXECUTE ON FUNCTION kpi.review_log() FROM PUBLIC;
CREATE TRIGGER review_log AFTER INSERT OR UPDATE OR DELETE ON kpi.review
    FOR EACH ROW EXECUTE FUNCTION kpi.review_log();
CREATE TRIGGER review_log AFTER INSERT OR UPDATE OR DELETE ON kpi.finding
    FOR EACH ROW EXECUTE FUNCTION kpi.review_log();
CREATE TRIGGER review_log AFTER INSERT OR UPDATE OR DELETE ON kpi.action
    FOR EACH ROW EXECUTE FUNCTION kpi.review_log();

-- ---------------------------------------------------------------------
-- Closing the loop with alerts
-- ---------------------------------------------------------------------

ALTER TABLE kpi.alert ADD COLUMN finding_id bigint REFERENCES kpi.finding (id) ON DELETE SET NULL;
COMMENT ON COLUMN kpi.alert.finding_id IS 'the finding the alert was resolved with (kpi.alert_resolve(..., finding))';
CREATE INDEX alert_finding ON kpi.alert (finding_id) WHERE finding_id IS NOT NULL;

-- The queue functions see only the alerts the caller sees; an alert it
-- cannot see is refused like one that does not exist, without saying
-- which of the two it is.
CREATE FUNCTION kpi.alert_not_found(alert_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF kpi.visible_scopes() IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown alert id: %s', alert_id);
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'insufficient_privilege',
        MESSAGE = format('alert %s does not exist or is not visible to role "%s"', alert_id, CURRENT_USER),
        DETAIL = 'A role sees the alerts of the scopes it is a member of, and of the scopes below them.',
        HINT = 'kpi.scope_member lists who sees which scopes.';
END
$$;
COMMENT ON FUNCTION kpi.alert_not_found(bigint) IS
    'internal: refuse an alert id the caller cannot see (22023 for a role that sees everything, 42501 otherwise)';

DROP FUNCTION kpi.alert_ack(bigint, text, text);
DROP FUNCTION kpi.alert_resolve(bigint, text, text);
DROP FUNCTION kpi.alert_transition(bigint, text, text, text);

CREATE FUNCTION kpi.alert_transition(alert_id bigint, who text, note text, target_state text,
                                     finding bigint DEFAULT NULL)
    RETURNS kpi.alert
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a kpi.alert;
    f kpi.finding;
BEGIN
    SELECT * INTO a FROM kpi.alert x WHERE x.id OPERATOR(pg_catalog.=) alert_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM kpi.alert_not_found(alert_id);
    END IF;
    IF a.state OPERATOR(pg_catalog.=) 'resolved' OR (target_state = 'acked' AND a.state = 'acked') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('alert %s is already %s', alert_id, a.state),
            HINT = CASE WHEN a.state = 'resolved' THEN 'A resolved alert takes no further transitions.'
                        ELSE 'Resolve it with kpi.alert_resolve().' END;
    END IF;
    IF finding IS NOT NULL THEN
        SELECT * INTO f FROM kpi.finding x WHERE x.id OPERATOR(pg_catalog.=) finding;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('unknown finding id: %s', finding),
                HINT = 'A role sees the findings of the reviews of its scopes.';
        END IF;
        IF f.indicator_id OPERATOR(pg_catalog.<>) a.indicator_id THEN
            RAISE EXCEPTION USING
                ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('finding %s is about another indicator than alert %s', finding, alert_id),
                DETAIL = 'An alert is resolved with a finding on its own indicator.';
        END IF;
    END IF;
    IF target_state = 'acked' THEN
        UPDATE kpi.alert x SET state = 'acked', acked_at = pg_catalog.now(), acked_by = who,
                               lease_until = NULL, updated_at = pg_catalog.now()
        WHERE x.id OPERATOR(pg_catalog.=) alert_id RETURNING * INTO a;
    ELSE
        UPDATE kpi.alert x SET state = 'resolved', resolved_at = pg_catalog.now(), resolved_by = who,
                               lease_until = NULL, updated_at = pg_catalog.now(),
                               finding_id = coalesce(finding, x.finding_id)
        WHERE x.id OPERATOR(pg_catalog.=) alert_id RETURNING * INTO a;
    END IF;
    INSERT INTO kpi.alert_event (alert_id, kind, actor, state, severity, value, attainment, note)
    VALUES (a.id, CASE target_state WHEN 'acked' THEN 'ack' ELSE 'resolve' END, who, a.state,
            a.severity, a.value, a.attainment,
            CASE WHEN finding IS NULL THEN note
                 ELSE concat_ws(' ', note, format('(finding %s)', finding)) END);
    RETURN a;
END
$$;
COMMENT ON FUNCTION kpi.alert_transition(bigint, text, text, text, bigint) IS
    'internal: check and apply an ack or resolve of an alert the caller sees, and log it';

CREATE FUNCTION kpi.alert_ack(id bigint, who text, note text DEFAULT NULL) RETURNS kpi.alert
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT kpi.alert_transition(id, who, note, 'acked');
END;
COMMENT ON FUNCTION kpi.alert_ack(bigint, text, text) IS
    'acknowledge an open alert: it stops being delivered and escalated; errors on unknown, unseen or resolved alerts';

CREATE FUNCTION kpi.alert_resolve(id bigint, who text, note text DEFAULT NULL, finding bigint DEFAULT NULL)
    RETURNS kpi.alert
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT kpi.alert_transition(id, who, note, 'resolved', finding);
END;
COMMENT ON FUNCTION kpi.alert_resolve(bigint, text, text, bigint) IS
    'resolve an open or acknowledged alert by hand, optionally pointing to the finding that explains it; errors on unknown, unseen or resolved alerts';

-- kpi.finding_from_alert: record a finding in a review from the alert that
-- prompted it (its indicator and scope), in one call.
CREATE FUNCTION kpi.finding_from_alert(alert_id bigint, review_id bigint, root_cause text DEFAULT NULL,
                                       lesson text DEFAULT NULL, cause_category text DEFAULT NULL,
                                       kind text DEFAULT 'gap') RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a kpi.alert;
    result bigint;
BEGIN
    SELECT * INTO a FROM kpi.alert x WHERE x.id OPERATOR(pg_catalog.=) alert_id;
    IF NOT FOUND THEN
        PERFORM kpi.alert_not_found(alert_id);
    END IF;
    IF NOT EXISTS (SELECT FROM kpi.review r WHERE r.id OPERATOR(pg_catalog.=) review_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown review id: %s', review_id),
            HINT = 'A role sees the reviews of its scopes.';
    END IF;
    INSERT INTO kpi.finding (review_id, indicator_id, scope_id, alert_id, kind, summary,
                             cause_category, root_cause, lesson)
    VALUES (review_id, a.indicator_id, a.scope_id, a.id, kind,
            format('alert %s: %s in %s, attainment %s', a.id, a.severity, a.period,
                   coalesce(pg_catalog.round(a.attainment::numeric, 3)::text, 'unknown')),
            cause_category, root_cause, lesson)
    RETURNING id INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION kpi.finding_from_alert(bigint, bigint, text, text, text, text) IS
    'record a finding in a review from an alert (its indicator, scope and a summary of it); returns the finding''s id';

-- does an action exist for the alert (through a finding it prompted or was
-- resolved with)?  Also readable as a column: a.has_action, kpi on the path.
CREATE FUNCTION kpi.has_action(a kpi.alert) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT EXISTS (SELECT FROM kpi.action x JOIN kpi.finding f ON f.id OPERATOR(pg_catalog.=) x.finding_id
                   WHERE f.alert_id OPERATOR(pg_catalog.=) a.id OR f.id OPERATOR(pg_catalog.=) a.finding_id);
END;
COMMENT ON FUNCTION kpi.has_action(kpi.alert) IS
    'true when an action exists for the alert, through a finding it prompted or was resolved with';

-- ---------------------------------------------------------------------
-- Lessons search (经验沉淀): English through text search with stemming,
-- any text (Chinese too, under any locale) through kpi.search_terms.
-- ---------------------------------------------------------------------

CREATE FUNCTION kpi.search_terms(t text, query boolean DEFAULT false) RETURNS text[]
    AS 'MODULE_PATHNAME', 'kpi_search_terms'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.search_terms(text, boolean) IS
    'search terms of a text under any locale: words (ASCII folded to lower case) and, for CJK text, characters and neighbouring pairs; query = true gives the terms a match must contain';

CREATE INDEX finding_terms ON kpi.finding
    USING gin (kpi.search_terms(coalesce(root_cause, '') || ' ' || coalesce(lesson, ''), false));
-- English text search: the lesson weighs more (A) than the root cause (B);
-- kept as a stored column, so matching and ranking parse no text
ALTER TABLE kpi.finding ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (pg_catalog.setweight(pg_catalog.to_tsvector('pg_catalog.english'::regconfig, coalesce(lesson, '')), 'A')
                         OPERATOR(pg_catalog.||)
                         pg_catalog.setweight(pg_catalog.to_tsvector('pg_catalog.english'::regconfig, coalesce(root_cause, '')), 'B')) STORED;
COMMENT ON COLUMN kpi.finding.search_vector IS
    'the lesson (weight A) and the root cause (weight B) for English text search (kept by PostgreSQL; kpi.lessons() searches it)';
CREATE INDEX finding_text ON kpi.finding USING gin (search_vector);

CREATE FUNCTION kpi.lessons(query text)
    RETURNS TABLE (finding_id bigint, indicator text, lesson text, rank real,
                   root_cause text, cause_category text, scope text, period text, review_id bigint)
    LANGUAGE plpgsql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    SET client_min_messages = warning   -- no NOTICE for a query without English words
    SET plan_cache_mode = force_custom_plan   -- plan for the query's own terms, every call
AS $$
DECLARE
    q text := btrim(query);
    tsq tsquery;
    terms text[];
    words text[];
BEGIN
    IF q = '' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'kpi.lessons needs a query';
    END IF;
    -- English text search (stemming) for queries in ASCII; everything else,
    -- Chinese above all, by substring, so ranking does not depend on the
    -- locale the server's parser splits words with
    IF q ~ '^[[:ascii:]]*$' THEN
        tsq := websearch_to_tsquery('pg_catalog.english'::regconfig, q);
    ELSE
        tsq := ''::tsquery;
    END IF;
    terms := kpi.search_terms(q, true);
    words := ARRAY(SELECT w FROM regexp_split_to_table(lower(q), '\s+') w WHERE w <> '');
    RETURN QUERY
    WITH hit AS (
        SELECT f.*, coalesce(f.root_cause, '') || ' ' || coalesce(f.lesson, '') AS doc
        FROM kpi.finding f
        WHERE (numnode(tsq) > 0 AND f.search_vector @@ tsq)
           OR (cardinality(terms) > 0
               AND kpi.search_terms(coalesce(f.root_cause, '') || ' ' || coalesce(f.lesson, ''), false) @> terms
               AND NOT EXISTS (SELECT FROM unnest(words) w
                               WHERE strpos(lower(coalesce(f.root_cause, '') || ' ' || coalesce(f.lesson, '')), w) = 0))
    ), scored AS (
        SELECT h.*,
               -- text search: the lesson weighs more than the root cause
               CASE WHEN numnode(tsq) > 0 THEN ts_rank(h.search_vector, tsq) ELSE 0 END AS ts,
               -- substrings: occurrences of each query word, in the lesson
               -- (1) and the root cause (0.4), the whole query as written
               -- (2), less for long texts
               (SELECT coalesce(sum(
                          (char_length(lower(coalesce(h.lesson, ''))) - char_length(replace(lower(coalesce(h.lesson, '')), w, '')))
                              / char_length(w)
                        + 0.4 * (char_length(lower(coalesce(h.root_cause, ''))) - char_length(replace(lower(coalesce(h.root_cause, '')), w, '')))
                              / char_length(w)), 0)
                FROM unnest(words) w)
               + CASE WHEN cardinality(words) > 1 AND strpos(lower(h.doc), lower(q)) > 0 THEN 2 ELSE 0 END
               AS sub
        FROM hit h
    )
    SELECT s.id, i.code, s.lesson,
           (s.ts + 0.1 * s.sub / (1 + ln(1 + char_length(s.doc) / 100.0)))::real,
           s.root_cause, s.cause_category, sc.code, r.period::text, s.review_id
    FROM scored s
    JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) s.indicator_id
    JOIN kpi.scope sc ON sc.id OPERATOR(pg_catalog.=) s.scope_id
    JOIN kpi.review r ON r.id OPERATOR(pg_catalog.=) s.review_id
    ORDER BY 4 DESC, s.id DESC;
END
$$;
COMMENT ON FUNCTION kpi.lessons(text) IS
    'ranked search over the root causes and lessons of the findings the caller sees: English with stemming, Chinese and any other text by substring; best first';

-- ---------------------------------------------------------------------
-- Views
-- ---------------------------------------------------------------------

CREATE VIEW kpi.overdue_action WITH (security_invoker = true) AS
SELECT x.id                                       AS action_id,
       x.title,
       x.owner,
       x.due,
       kpi.today() OPERATOR(pg_catalog.-) x.due   AS days_overdue,
       x.state,
       i.code                                     AS indicator,
       i.name                                     AS indicator_name,
       s.code                                     AS scope,
       s.name                                     AS scope_name,
       r.period::text                             AS period,
       r.id                                       AS review_id,
       r.title                                    AS review,
       f.id                                       AS finding_id
FROM kpi.action x
JOIN kpi.finding f ON f.id OPERATOR(pg_catalog.=) x.finding_id
JOIN kpi.review r ON r.id OPERATOR(pg_catalog.=) f.review_id
JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) f.indicator_id
JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) f.scope_id
WHERE x.state IN ('open', 'in_progress')
  AND x.due OPERATOR(pg_catalog.<) kpi.today();
COMMENT ON VIEW kpi.overdue_action IS
    'actions not done or dropped whose due date has passed (in the company''s time zone), with owner, indicator, scope and days overdue';
COMMENT ON COLUMN kpi.overdue_action.action_id IS 'the action';
COMMENT ON COLUMN kpi.overdue_action.title IS 'what was to be done';
COMMENT ON COLUMN kpi.overdue_action.owner IS 'who is responsible';
COMMENT ON COLUMN kpi.overdue_action.due IS 'when it was due';
COMMENT ON COLUMN kpi.overdue_action.days_overdue IS 'days since it was due (the company''s today minus due)';
COMMENT ON COLUMN kpi.overdue_action.state IS 'open or in_progress';
COMMENT ON COLUMN kpi.overdue_action.indicator IS 'code of the finding''s indicator';
COMMENT ON COLUMN kpi.overdue_action.indicator_name IS 'name of the finding''s indicator';
COMMENT ON COLUMN kpi.overdue_action.scope IS 'code of the finding''s scope';
COMMENT ON COLUMN kpi.overdue_action.scope_name IS 'name of the finding''s scope';
COMMENT ON COLUMN kpi.overdue_action.period IS 'the reviewed period';
COMMENT ON COLUMN kpi.overdue_action.review_id IS 'the review';
COMMENT ON COLUMN kpi.overdue_action.review IS 'the review''s title';
COMMENT ON COLUMN kpi.overdue_action.finding_id IS 'the finding the action answers';

CREATE VIEW kpi.alert_followup WITH (security_invoker = true) AS
SELECT a.id                                       AS alert_id,
       i.code                                     AS indicator,
       s.code                                     AS scope,
       a.period::text                             AS period,
       a.state,
       a.severity::text                           AS severity,
       a.raised_at,
       a.finding_id                               AS resolved_with,
       (SELECT pg_catalog.array_agg(f.id ORDER BY f.id) FROM kpi.finding f
        WHERE f.alert_id OPERATOR(pg_catalog.=) a.id OR f.id OPERATOR(pg_catalog.=) a.finding_id) AS findings,
       (SELECT pg_catalog.count(*) FROM kpi.action x JOIN kpi.finding f ON f.id OPERATOR(pg_catalog.=) x.finding_id
        WHERE f.alert_id OPERATOR(pg_catalog.=) a.id OR f.id OPERATOR(pg_catalog.=) a.finding_id) AS actions,
       (SELECT pg_catalog.count(*) FROM kpi.action x JOIN kpi.finding f ON f.id OPERATOR(pg_catalog.=) x.finding_id
        WHERE (f.alert_id OPERATOR(pg_catalog.=) a.id OR f.id OPERATOR(pg_catalog.=) a.finding_id)
          AND x.state IN ('open', 'in_progress')) AS open_actions,
       kpi.has_action(a)                          AS has_action
FROM kpi.alert a
JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) a.indicator_id
JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) a.scope_id;
COMMENT ON VIEW kpi.alert_followup IS
    'every alert with what the review loop did about it: the findings it prompted or was resolved with, and their actions';
COMMENT ON COLUMN kpi.alert_followup.alert_id IS 'the alert';
COMMENT ON COLUMN kpi.alert_followup.indicator IS 'indicator code';
COMMENT ON COLUMN kpi.alert_followup.scope IS 'scope code';
COMMENT ON COLUMN kpi.alert_followup.period IS 'the period judged';
COMMENT ON COLUMN kpi.alert_followup.state IS 'open, acked or resolved';
COMMENT ON COLUMN kpi.alert_followup.severity IS 'red, amber ... while open';
COMMENT ON COLUMN kpi.alert_followup.raised_at IS 'when it was raised';
COMMENT ON COLUMN kpi.alert_followup.resolved_with IS 'the finding it was resolved with, if any';
COMMENT ON COLUMN kpi.alert_followup.findings IS 'ids of the findings it prompted or was resolved with';
COMMENT ON COLUMN kpi.alert_followup.actions IS 'actions on those findings';
COMMENT ON COLUMN kpi.alert_followup.open_actions IS 'of which open or in progress';
COMMENT ON COLUMN kpi.alert_followup.has_action IS 'an action exists for the alert';

-- kpi.scope_actual and kpi.scorecard run with the caller's rights (the
-- tables' row-level security applies), and show only scopes the caller
-- sees whole: a region's total built from the one branch a member sees
-- would be a wrong number.
CREATE OR REPLACE VIEW kpi.scope_actual AS
SELECT m.indicator_id, m.scope_id, m.period, m.tally, m.value, t.goal
FROM (SELECT a.indicator_id, anc.ancestor_id AS scope_id, a.period,
             kpi.merge(a.tally) AS tally,
             CASE WHEN i.agg OPERATOR(pg_catalog.=) ANY ('{first,last}'::kpi.agg_kind[])
                  THEN pg_catalog.sum(kpi.value(a.tally, i.agg))
                  ELSE kpi.value(kpi.merge(a.tally), i.agg) END AS value
      FROM kpi.actual a
      JOIN kpi.scope_tree anc ON anc.scope_id OPERATOR(pg_catalog.=) a.scope_id
      JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) a.indicator_id
      WHERE (SELECT kpi.visible_scopes()) IS NULL
         OR anc.ancestor_id OPERATOR(pg_catalog.=) ANY ((SELECT kpi.visible_scopes())::bigint[])
      GROUP BY a.indicator_id, anc.ancestor_id, a.period, i.agg) m
LEFT JOIN kpi.target t ON t.indicator_id OPERATOR(pg_catalog.=) m.indicator_id
                      AND t.scope_id OPERATOR(pg_catalog.=) m.scope_id
                      AND t.period OPERATOR(kpi.=) m.period;
ALTER VIEW kpi.scope_actual SET (security_invoker = true);
ALTER VIEW kpi.scorecard SET (security_invoker = true);
COMMENT ON VIEW kpi.scope_actual IS
    'actuals of every scope over its subtree (flows merged, levels summed across scopes), with that scope''s goal; a member sees the scopes of its subtrees';

-- ---------------------------------------------------------------------
-- Row-level security.  A role sees and writes the rows of the scopes
-- kpi.visible_scopes() returns; superusers, BYPASSRLS roles and the owner
-- are not subject to it.  The set is computed once per query (an
-- InitPlan), so a row costs one lookup in a small array.
-- ---------------------------------------------------------------------

ALTER TABLE kpi.measurement ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.measurement
    USING ((SELECT kpi.visible_scopes()) IS NULL
           OR scope_id OPERATOR(pg_catalog.=) ANY ((SELECT kpi.visible_scopes())::bigint[]));
ALTER TABLE kpi.target ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.target
    USING ((SELECT kpi.visible_scopes()) IS NULL
           OR scope_id OPERATOR(pg_catalog.=) ANY ((SELECT kpi.visible_scopes())::bigint[]));
ALTER TABLE kpi.target_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.target_history
    USING ((SELECT kpi.visible_scopes()) IS NULL
           OR scope_id OPERATOR(pg_catalog.=) ANY ((SELECT kpi.visible_scopes())::bigint[]));
ALTER TABLE kpi.actual ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.actual FOR SELECT
    USING ((SELECT kpi.visible_scopes()) IS NULL
           OR scope_id OPERATOR(pg_catalog.=) ANY ((SELECT kpi.visible_scopes())::bigint[]));
ALTER TABLE kpi.alert ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.alert
    USING ((SELECT kpi.visible_scopes()) IS NULL
           OR scope_id OPERATOR(pg_catalog.=) ANY ((SELECT kpi.visible_scopes())::bigint[]));
ALTER TABLE kpi.alert_event ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.alert_event
    USING (EXISTS (SELECT FROM kpi.alert a WHERE a.id OPERATOR(pg_catalog.=) alert_event.alert_id));
ALTER TABLE kpi.review ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.review
    USING ((SELECT kpi.visible_scopes()) IS NULL
           OR scope_id OPERATOR(pg_catalog.=) ANY ((SELECT kpi.visible_scopes())::bigint[]));
ALTER TABLE kpi.finding ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.finding
    USING (EXISTS (SELECT FROM kpi.review r WHERE r.id OPERATOR(pg_catalog.=) finding.review_id));
ALTER TABLE kpi.action ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.action
    USING (EXISTS (SELECT FROM kpi.finding f WHERE f.id OPERATOR(pg_catalog.=) action.finding_id));
ALTER TABLE kpi.review_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.review_history FOR SELECT
    USING (EXISTS (SELECT FROM kpi.review r WHERE r.id OPERATOR(pg_catalog.=) review_history.review_id));

-- ---------------------------------------------------------------------
-- A company time zone restored after the measurements rebuilds kpi.actual
-- in it: both triggers on kpi.setting fire in a restore too (0.5 meant
-- setting_sync to, but re-enabled it for origin only after seeding the
-- zone).  lock_for_change waits for the measurement loads in flight.
-- ---------------------------------------------------------------------
ALTER TABLE kpi.setting ENABLE ALWAYS TRIGGER setting_sync;
ALTER TABLE kpi.setting ENABLE ALWAYS TRIGGER lock_for_change;

-- ---------------------------------------------------------------------
-- Dumps and restores (see release 0.5): the new tables keep their rows,
-- and a restore loads them with the foreign key checks deferred.
-- ---------------------------------------------------------------------

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['scope_member', 'review', 'finding', 'action', 'review_history'] LOOP
        EXECUTE format('CREATE TRIGGER restore_begin BEFORE INSERT ON kpi.%I'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION kpi.restore_guard()', t);
        EXECUTE format('CREATE TRIGGER zz_restore_end AFTER INSERT ON kpi.%I'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION kpi.restore_guard()', t);
        EXECUTE format('ALTER TABLE kpi.%I ENABLE ALWAYS TRIGGER zz_restore_end', t);
        EXECUTE format('SELECT pg_catalog.pg_extension_config_dump(''kpi.%I'', '''')', t);
    END LOOP;
END
$$;
SELECT pg_catalog.pg_extension_config_dump('kpi.review_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.finding_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.action_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.review_history_id_seq', '');
COMMENT ON SEQUENCE kpi.review_id_seq IS 'ids of kpi.review';
COMMENT ON SEQUENCE kpi.finding_id_seq IS 'ids of kpi.finding';
COMMENT ON SEQUENCE kpi.action_id_seq IS 'ids of kpi.action';
COMMENT ON SEQUENCE kpi.review_history_id_seq IS 'ids of kpi.review_history';
