/* kpi--0.3--0.4.sql: release 0.4 of kpi: alerts (预警) raised by the
 * measurement trigger in the same transaction, and a queue consumers claim,
 * acknowledge, escalate and resolve. */

\echo Use "ALTER EXTENSION kpi UPDATE TO '0.4'" to load this file. \quit

-- ---------------------------------------------------------------------
-- kpi.alert_rule: which indicators and scopes raise alerts, and how
-- ---------------------------------------------------------------------

CREATE TABLE kpi.alert_rule (
    id              bigserial PRIMARY KEY,
    indicator_id    bigint NOT NULL REFERENCES kpi.indicator (id) ON DELETE CASCADE,
    scope_id        bigint REFERENCES kpi.scope (id) ON DELETE CASCADE,
    basis           text NOT NULL DEFAULT 'attainment' CHECK (basis IN ('attainment', 'pace')),
    raise_at        kpi.status NOT NULL DEFAULT 'amber' CHECK (raise_at < 'blue'),
    min_breaches    integer NOT NULL DEFAULT 1 CHECK (min_breaches >= 1),
    recovery_margin float8 NOT NULL DEFAULT 0 CHECK (recovery_margin >= 0 AND recovery_margin < 'Infinity'),
    repeat_after    interval CHECK (repeat_after > '0'),
    escalate_to     text[] NOT NULL DEFAULT '{}',
    escalate_after  interval[] NOT NULL DEFAULT '{}',
    enabled         boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CHECK (pg_catalog.cardinality(escalate_to) OPERATOR(pg_catalog.=) pg_catalog.cardinality(escalate_after))
);
CREATE UNIQUE INDEX alert_rule_key ON kpi.alert_rule (indicator_id, coalesce(scope_id, 0));
COMMENT ON TABLE kpi.alert_rule IS 'alert rules: which indicator (and scope, NULL = all) raises alerts, on what basis, with hysteresis and escalation';
COMMENT ON COLUMN kpi.alert_rule.basis IS 'attainment (the period so far against the whole goal) or pace (against the share of the goal due by now)';
COMMENT ON COLUMN kpi.alert_rule.raise_at IS 'raise when the status is at or below this level';
COMMENT ON COLUMN kpi.alert_rule.min_breaches IS 'consecutive bad evaluations before an alert is raised';
COMMENT ON COLUMN kpi.alert_rule.recovery_margin IS 'hysteresis: to resolve, attainment must pass the band edge above raise_at by this much';
COMMENT ON COLUMN kpi.alert_rule.repeat_after IS 're-notify an alert still open after this long';
COMMENT ON COLUMN kpi.alert_rule.escalate_to IS 'escalation chain: step k hands the alert to escalate_to[k]';
COMMENT ON COLUMN kpi.alert_rule.escalate_after IS 'escalation chain: step k is due escalate_after[k] after the alert was raised';

-- ---------------------------------------------------------------------
-- kpi.silence: suppress raising for an indicator (and scope) until a time
-- ---------------------------------------------------------------------

CREATE TABLE kpi.silence (
    id           bigserial PRIMARY KEY,
    indicator_id bigint NOT NULL REFERENCES kpi.indicator (id) ON DELETE CASCADE,
    scope_id     bigint REFERENCES kpi.scope (id) ON DELETE CASCADE,
    until        timestamptz NOT NULL,
    reason       text,
    created_by   name NOT NULL DEFAULT CURRENT_USER,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX silence_indicator ON kpi.silence (indicator_id, until);
COMMENT ON TABLE kpi.silence IS 'silences: no alert is raised for the indicator (and scope, NULL = all) until the given time';

-- ---------------------------------------------------------------------
-- kpi.alert: the queue; kpi.alert_event: every transition
-- ---------------------------------------------------------------------

CREATE TABLE kpi.alert (
    id               bigserial PRIMARY KEY,
    indicator_id     bigint NOT NULL REFERENCES kpi.indicator (id) ON DELETE CASCADE,
    scope_id         bigint NOT NULL REFERENCES kpi.scope (id) ON DELETE CASCADE,
    period           kpi.period NOT NULL,
    rule_id          bigint REFERENCES kpi.alert_rule (id) ON DELETE SET NULL,
    state            text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acked', 'resolved')),
    severity         kpi.status NOT NULL,
    value            float8,
    attainment       float8,
    assignee         text,
    escalation_level integer NOT NULL DEFAULT 0,
    lease_until      timestamptz,
    claimed_by       text,
    delivery_count   integer NOT NULL DEFAULT 0,
    raised_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
    notified_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    acked_at         timestamptz,
    acked_by         text,
    resolved_at      timestamptz,
    resolved_by      text,
    updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now()
);
-- at most one alert that is not resolved per (indicator, scope, period)
CREATE UNIQUE INDEX alert_one_unresolved ON kpi.alert (indicator_id, scope_id, period)
    WHERE state <> 'resolved';
CREATE INDEX alert_claimable ON kpi.alert (severity, raised_at) WHERE state = 'open';
COMMENT ON TABLE kpi.alert IS 'the alert queue: at most one unresolved alert per indicator, scope and period';
COMMENT ON COLUMN kpi.alert.state IS 'open (unacknowledged), acked or resolved';
COMMENT ON COLUMN kpi.alert.severity IS 'the current status while the alert is open (red is worst)';
COMMENT ON COLUMN kpi.alert.lease_until IS 'a claimed alert is invisible to other consumers until then';
COMMENT ON COLUMN kpi.alert.delivery_count IS 'how many times the alert was claimed';
COMMENT ON COLUMN kpi.alert.escalation_level IS 'escalation steps taken (0 = none)';
COMMENT ON COLUMN kpi.alert.notified_at IS 'last raise, escalation or repeat notification';

CREATE TABLE kpi.alert_event (
    id        bigserial PRIMARY KEY,
    alert_id  bigint NOT NULL REFERENCES kpi.alert (id) ON DELETE CASCADE,
    at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
    kind      text NOT NULL CHECK (kind IN ('raise', 'worsen', 'improve', 'repeat', 'escalate',
                                            'claim', 'ack', 'resolve', 'recover')),
    actor     text NOT NULL DEFAULT CURRENT_USER,
    state     text NOT NULL,
    severity  kpi.status,
    value     float8,
    attainment float8,
    note      text
);
CREATE INDEX alert_event_alert ON kpi.alert_event (alert_id, id);
COMMENT ON TABLE kpi.alert_event IS 'every transition of every alert, with actor and time';

-- consecutive bad evaluations per rule and key (for min_breaches)
CREATE TABLE kpi.alert_streak (
    rule_id      bigint NOT NULL REFERENCES kpi.alert_rule (id) ON DELETE CASCADE,
    indicator_id bigint NOT NULL,
    scope_id     bigint NOT NULL,
    period       kpi.period NOT NULL,
    breaches     integer NOT NULL,
    PRIMARY KEY (rule_id, indicator_id, scope_id, period)
);
COMMENT ON TABLE kpi.alert_streak IS 'consecutive bad evaluations of a key under a rule, towards min_breaches';

-- ---------------------------------------------------------------------
-- The queue API
-- ---------------------------------------------------------------------

-- kpi.alert_claim: lease up to max open alerts to a consumer, worst first.
-- SKIP LOCKED lets many consumers claim at once without waiting on each
-- other; an alert whose lease ended is claimable again.
CREATE FUNCTION kpi.alert_claim(consumer text, max integer DEFAULT 1,
                                lease interval DEFAULT '30 seconds') RETURNS SETOF kpi.alert
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF consumer IS NULL OR max IS NULL OR max < 1 OR lease IS NULL OR lease <= interval '0' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'kpi.alert_claim needs a consumer, max >= 1 and a positive lease';
    END IF;
    RETURN QUERY
    WITH picked AS (
        SELECT a.id FROM kpi.alert a
        WHERE a.state OPERATOR(pg_catalog.=) 'open'
          AND (a.lease_until IS NULL OR a.lease_until OPERATOR(pg_catalog.<=) pg_catalog.now())
        ORDER BY a.severity, a.raised_at, a.id
        LIMIT max
        FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE kpi.alert a
        SET lease_until = pg_catalog.now() OPERATOR(pg_catalog.+) lease,
            claimed_by = consumer,
            delivery_count = a.delivery_count OPERATOR(pg_catalog.+) 1,
            updated_at = pg_catalog.now()
        FROM picked WHERE a.id OPERATOR(pg_catalog.=) picked.id
        RETURNING a.*
    ), logged AS (
        INSERT INTO kpi.alert_event (alert_id, kind, actor, state, severity, value, attainment)
        SELECT c.id, 'claim', consumer, c.state, c.severity, c.value, c.attainment FROM claimed c
    )
    SELECT * FROM claimed ORDER BY severity, raised_at, id;
END
$$;
COMMENT ON FUNCTION kpi.alert_claim(text, integer, interval) IS
    'lease up to max open alerts to a consumer (SKIP LOCKED), worst first; expired leases are claimable again';

-- kpi.alert_transition: the one place that checks and applies a consumer's
-- transition (ack or resolve) and logs it.
CREATE FUNCTION kpi.alert_transition(alert_id bigint, who text, note text, target_state text)
    RETURNS kpi.alert
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a kpi.alert;
BEGIN
    SELECT * INTO a FROM kpi.alert x WHERE x.id OPERATOR(pg_catalog.=) alert_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown alert id: %s', alert_id);
    END IF;
    IF a.state OPERATOR(pg_catalog.=) 'resolved' OR (target_state = 'acked' AND a.state = 'acked') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('alert %s is already %s', alert_id, a.state),
            HINT = CASE WHEN a.state = 'resolved' THEN 'A resolved alert takes no further transitions.'
                        ELSE 'Resolve it with kpi.alert_resolve().' END;
    END IF;
    IF target_state = 'acked' THEN
        UPDATE kpi.alert x SET state = 'acked', acked_at = pg_catalog.now(), acked_by = who,
                               lease_until = NULL, updated_at = pg_catalog.now()
        WHERE x.id OPERATOR(pg_catalog.=) alert_id RETURNING * INTO a;
    ELSE
        UPDATE kpi.alert x SET state = 'resolved', resolved_at = pg_catalog.now(), resolved_by = who,
                               lease_until = NULL, updated_at = pg_catalog.now()
        WHERE x.id OPERATOR(pg_catalog.=) alert_id RETURNING * INTO a;
    END IF;
    INSERT INTO kpi.alert_event (alert_id, kind, actor, state, severity, value, attainment, note)
    VALUES (a.id, CASE target_state WHEN 'acked' THEN 'ack' ELSE 'resolve' END, who, a.state,
            a.severity, a.value, a.attainment, note);
    RETURN a;
END
$$;
COMMENT ON FUNCTION kpi.alert_transition(bigint, text, text, text) IS
    'internal: check and apply an ack or resolve of an alert, and log it';

CREATE FUNCTION kpi.alert_ack(id bigint, who text, note text DEFAULT NULL) RETURNS kpi.alert
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT kpi.alert_transition(id, who, note, 'acked');
END;
COMMENT ON FUNCTION kpi.alert_ack(bigint, text, text) IS
    'acknowledge an open alert: it stops being delivered and escalated; errors on unknown or resolved alerts';

CREATE FUNCTION kpi.alert_resolve(id bigint, who text, note text DEFAULT NULL) RETURNS kpi.alert
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT kpi.alert_transition(id, who, note, 'resolved');
END;
COMMENT ON FUNCTION kpi.alert_resolve(bigint, text, text) IS
    'resolve an open or acknowledged alert by hand; errors on unknown or already resolved alerts';

-- kpi.alert_escalate: hand open (unacknowledged) alerts to the next step of
-- their rule's chain once that step is due; returns how many moved.
CREATE FUNCTION kpi.alert_escalate(at timestamptz DEFAULT pg_catalog.now()) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer := 0;
    r record;
BEGIN
    FOR r IN
        SELECT a.id, step.k, r2.escalate_to[step.k] AS assignee
        FROM kpi.alert a
        JOIN kpi.alert_rule r2 ON r2.id OPERATOR(pg_catalog.=) a.rule_id
        CROSS JOIN LATERAL (
            SELECT max(k) AS k
            FROM pg_catalog.generate_subscripts(r2.escalate_after, 1) k
            WHERE a.raised_at OPERATOR(pg_catalog.+) r2.escalate_after[k] OPERATOR(pg_catalog.<=) at) step
        WHERE a.state OPERATOR(pg_catalog.=) 'open'
          AND step.k OPERATOR(pg_catalog.>) a.escalation_level
        ORDER BY a.id
        FOR UPDATE OF a SKIP LOCKED
    LOOP
        UPDATE kpi.alert a SET escalation_level = r.k, assignee = r.assignee,
                               notified_at = pg_catalog.now(), lease_until = NULL,
                               updated_at = pg_catalog.now()
        WHERE a.id OPERATOR(pg_catalog.=) r.id;
        INSERT INTO kpi.alert_event (alert_id, kind, actor, state, severity, value, attainment, note)
        SELECT a.id, 'escalate', CURRENT_USER, a.state, a.severity, a.value, a.attainment,
               format('step %s: to %s', r.k, r.assignee)
        FROM kpi.alert a WHERE a.id OPERATOR(pg_catalog.=) r.id;
        PERFORM pg_catalog.pg_notify('kpi_alert', r.id::text);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION kpi.alert_escalate(timestamptz) IS
    'escalate unacknowledged alerts whose next step is due (run it every minute, e.g. from pg_cron); returns the count';

-- ---------------------------------------------------------------------
-- pg_dump keeps rules, silences, alerts and their history
-- ---------------------------------------------------------------------

COMMENT ON SEQUENCE kpi.alert_rule_id_seq IS 'ids of kpi.alert_rule';
COMMENT ON SEQUENCE kpi.silence_id_seq IS 'ids of kpi.silence';
COMMENT ON SEQUENCE kpi.alert_id_seq IS 'ids of kpi.alert';
COMMENT ON SEQUENCE kpi.alert_event_id_seq IS 'ids of kpi.alert_event';

SELECT pg_catalog.pg_extension_config_dump('kpi.alert_rule', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.alert_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.silence', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.silence_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.alert', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.alert_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.alert_event', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.alert_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.alert_streak', '');
