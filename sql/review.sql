-- review: the PDCA loop (复盘).  Reviews, findings and actions, their
-- states, transitions, dates and errors, their history, the links with
-- alerts, overdue actions and the lessons search.
SET datestyle = ISO;
SET timezone = 'UTC';
SET search_path = public;
\set VERBOSITY terse


INSERT INTO kpi.scope (code, name) VALUES ('rv', '复盘集团');
INSERT INTO kpi.scope (code, name, parent_id) VALUES ('rv.north', '华北', kpi.scope_id('rv')),
                                                     ('rv.south', '华南', kpi.scope_id('rv'));
INSERT INTO kpi.scope (code, name, parent_id) VALUES ('rv.north.bj', '北京', kpi.scope_id('rv.north'));
INSERT INTO kpi.indicator (code, name, owner) VALUES ('rv.revenue', '营业收入', 'alice'), ('rv.output', '产量', 'erin');

-- ---------------------------------------------------------------------
-- Reviews: planned -> held -> closed
-- ---------------------------------------------------------------------
INSERT INTO kpi.review (title, period, scope_id, held_at, facilitator)
VALUES ('2026-Q2 华北复盘', '2026-Q2', kpi.scope_id('rv.north'), '2026-07-08 10:00+08', '王磊')
RETURNING title, period, state, held_at, facilitator, created_by = CURRENT_USER AS by_me;
SELECT id AS rid FROM kpi.review WHERE title = '2026-Q2 华北复盘' \gset
-- held: held_at kept; a planned review has no held_at requirement
UPDATE kpi.review SET state = 'held', summary = '供应商断货拖累二季度' WHERE id = :rid RETURNING state, held_at;
-- held_at is filled in when a review is recorded as held without one
INSERT INTO kpi.review (title, period, scope_id, state) VALUES ('补记', '2026-05', kpi.scope_id('rv'), 'held')
RETURNING state, held_at IS NOT NULL AS held_at_set;
-- errors: state, transition, date, title, scope, period
SELECT public.kpi_try($$INSERT INTO kpi.review (title, period, scope_id, state) VALUES ('x', '2026-Q2', kpi.scope_id('rv'), 'finished')$$);
SELECT public.kpi_try($$INSERT INTO kpi.review (title, period, scope_id, held_at) VALUES ('x', '2026-Q2', kpi.scope_id('rv'), '2026-03-31 12:00+00')$$);
SELECT public.kpi_try($$INSERT INTO kpi.review (title, period, scope_id) VALUES ('  ', '2026-Q2', kpi.scope_id('rv'))$$);
SELECT public.kpi_try($$INSERT INTO kpi.review (title, period, scope_id) VALUES ('x', '2026-Q2', 999999)$$);
SELECT public.kpi_try($$INSERT INTO kpi.review (title, period, scope_id) VALUES ('x', '2026-Q5', kpi.scope_id('rv'))$$);
SELECT public.kpi_try($$INSERT INTO kpi.review (title, period, scope_id) VALUES ('x', '2026-Q2', kpi.scope_id('nowhere'))$$);
SELECT public.kpi_try(format($$UPDATE kpi.review SET state = 'planned' WHERE id = %s$$, :rid));
SELECT public.kpi_try(format($$UPDATE kpi.review SET held_at = '2026-01-01' WHERE id = %s$$, :rid));
INSERT INTO kpi.review (title, period, scope_id) VALUES ('计划中', '2026-Q3', kpi.scope_id('rv.south'));
SELECT public.kpi_try($$UPDATE kpi.review SET state = 'closed' WHERE title = '计划中'$$);
-- the time zone decides the day: 2026-03-31 20:00 UTC is April 1 in Shanghai
INSERT INTO kpi.setting (name, value) VALUES ('time_zone', 'Asia/Shanghai');
SELECT public.kpi_try($$INSERT INTO kpi.review (title, period, scope_id, held_at) VALUES ('时区', '2026-Q2', kpi.scope_id('rv'), '2026-03-31 20:00+00')$$);
DELETE FROM kpi.setting WHERE name = 'time_zone';
DELETE FROM kpi.review WHERE title IN ('时区', '补记');

-- ---------------------------------------------------------------------
-- Findings: gap or success, inside the review's scope, about an indicator
-- ---------------------------------------------------------------------
INSERT INTO kpi.finding (review_id, indicator_id, scope_id, kind, summary, cause_category, root_cause, lesson)
VALUES (:rid, kpi.indicator_id('rv.revenue'), kpi.scope_id('rv.north.bj'), 'gap', '北京二季度收入未达标',
        'supplier', '核心压缩机供应商停产，备选供应商尚未认证', '关键物料至少保持两家合格供应商')
RETURNING kind, scope_id = kpi.scope_id('rv.north.bj') AS in_bj;
SELECT id AS f1 FROM kpi.finding WHERE review_id = :rid \gset
-- the scope defaults to the review's
INSERT INTO kpi.finding (review_id, indicator_id, kind, root_cause, lesson)
VALUES (:rid, kpi.indicator_id('rv.output'), 'success',
        'Overtime shifts recovered the output lost in April', 'Plan overtime early when a supplier fails')
RETURNING kind, scope_id = kpi.scope_id('rv.north') AS review_scope;
SELECT max(id) AS f2 FROM kpi.finding \gset
SELECT public.kpi_try(format($$INSERT INTO kpi.finding (review_id, indicator_id, kind) VALUES (%s, kpi.indicator_id('rv.revenue'), 'failure')$$, :rid));
SELECT public.kpi_try(format($$INSERT INTO kpi.finding (review_id, indicator_id, kind) VALUES (%s, kpi.indicator_id('rv.revenue'), NULL)$$, :rid));
SELECT public.kpi_try(format($$INSERT INTO kpi.finding (review_id, indicator_id, scope_id) VALUES (%s, kpi.indicator_id('rv.revenue'), kpi.scope_id('rv.south'))$$, :rid));
SELECT public.kpi_try(format($$INSERT INTO kpi.finding (review_id, indicator_id, scope_id) VALUES (%s, kpi.indicator_id('rv.revenue'), kpi.scope_id('rv'))$$, :rid));
SELECT public.kpi_try($$INSERT INTO kpi.finding (review_id, indicator_id) VALUES (999999, kpi.indicator_id('rv.revenue'))$$);
SELECT public.kpi_try(format($$INSERT INTO kpi.finding (review_id, indicator_id) VALUES (%s, 999999)$$, :rid));

-- ---------------------------------------------------------------------
-- Actions: open -> in_progress -> done | dropped
-- ---------------------------------------------------------------------
INSERT INTO kpi.action (finding_id, title, owner, due)
VALUES (:f1, '认证第二家压缩机供应商', '采购总监 李娜', '2026-09-30'),
       (:f1, '建立关键物料安全库存', '计划经理 赵强', kpi.today() + 30),
       (:f2, 'Overtime playbook', 'ops lead', kpi.today() - 3)
RETURNING title, state, closed_at;
SELECT id AS a1 FROM kpi.action WHERE title = '认证第二家压缩机供应商' \gset
SELECT id AS a2 FROM kpi.action WHERE title = '建立关键物料安全库存' \gset
SELECT id AS a3 FROM kpi.action WHERE title = 'Overtime playbook' \gset
UPDATE kpi.action SET state = 'in_progress' WHERE id = :a1 RETURNING state, closed_at;
-- dropping needs a reason
SELECT public.kpi_try(format($$UPDATE kpi.action SET state = 'dropped' WHERE id = %s$$, :a1));
SELECT public.kpi_try(format($$UPDATE kpi.action SET state = 'dropped', outcome = ' ' WHERE id = %s$$, :a1));
UPDATE kpi.action SET state = 'done', outcome = '第二家供应商 8 月通过认证' WHERE id = :a1
RETURNING state, closed_at IS NOT NULL AS closed;
-- done is final; a later edit of the outcome keeps closed_at
SELECT closed_at AS a1_closed FROM kpi.action WHERE id = :a1 \gset
SELECT public.kpi_try(format($$UPDATE kpi.action SET state = 'open' WHERE id = %s$$, :a1));
SELECT public.kpi_try(format($$UPDATE kpi.action SET state = 'in_progress' WHERE id = %s$$, :a1));
SELECT public.kpi_try(format($$UPDATE kpi.action SET state = 'dropped', outcome = 'x' WHERE id = %s$$, :a1));
UPDATE kpi.action SET outcome = '第二家供应商 8 月通过认证，9 月起供货' WHERE id = :a1;
SELECT closed_at = :'a1_closed' AS closed_at_kept FROM kpi.action WHERE id = :a1;
-- closed_at cannot be forged on an open action
SELECT public.kpi_try(format($$UPDATE kpi.action SET closed_at = now() WHERE id = %s$$, :a2));
SELECT closed_at FROM kpi.action WHERE id = :a2;
-- open straight to dropped, with a reason, is allowed
INSERT INTO kpi.action (finding_id, title, owner, due, state, outcome)
VALUES (:f2, '临时方案', 'ops', '2026-07-31', 'dropped', '供应恢复，不再需要') RETURNING state, closed_at IS NOT NULL AS closed;
-- errors: state, dates, owner, title, finding
SELECT public.kpi_try(format($$INSERT INTO kpi.action (finding_id, title, owner, due, state) VALUES (%s, 'x', 'y', '2026-09-30', 'blocked')$$, :f1));
SELECT public.kpi_try(format($$INSERT INTO kpi.action (finding_id, title, owner, due) VALUES (%s, 'x', 'y', '2026-03-31')$$, :f1));
SELECT public.kpi_try(format($$INSERT INTO kpi.action (finding_id, title, owner, due) VALUES (%s, 'x', 'y', NULL)$$, :f1));
SELECT public.kpi_try(format($$INSERT INTO kpi.action (finding_id, title, owner, due) VALUES (%s, 'x', '', '2026-09-30')$$, :f1));
SELECT public.kpi_try(format($$INSERT INTO kpi.action (finding_id, title, owner, due) VALUES (%s, '', 'y', '2026-09-30')$$, :f1));
SELECT public.kpi_try($$INSERT INTO kpi.action (finding_id, title, owner, due) VALUES (999999, 'x', 'y', '2026-09-30')$$);
SELECT public.kpi_try(format($$INSERT INTO kpi.action (finding_id, title, owner, due) VALUES (%s, 'x', 'y', '2026-02-30')$$, :f1));

-- ---------------------------------------------------------------------
-- kpi.overdue_action: not done or dropped, due before the company's today
-- ---------------------------------------------------------------------
SELECT title, owner, days_overdue, state, indicator, indicator_name, scope, scope_name, period, review
FROM kpi.overdue_action WHERE scope LIKE 'rv%' ORDER BY action_id;

-- ---------------------------------------------------------------------
-- A closed review takes no more findings; held again, it does
-- ---------------------------------------------------------------------
UPDATE kpi.review SET state = 'closed' WHERE id = :rid RETURNING state;
SELECT public.kpi_try(format($$INSERT INTO kpi.finding (review_id, indicator_id) VALUES (%s, kpi.indicator_id('rv.revenue'))$$, :rid));
SELECT public.kpi_try(format($$UPDATE kpi.finding SET lesson = 'x' WHERE id = %s$$, :f1));
SELECT public.kpi_try(format($$DELETE FROM kpi.finding WHERE id = %s$$, :f1));
-- actions outlive the review
UPDATE kpi.action SET state = 'in_progress' WHERE id = :a2 RETURNING state;
UPDATE kpi.review SET state = 'held' WHERE id = :rid RETURNING state;

-- ---------------------------------------------------------------------
-- History: every change, with the state before and after and the actor
-- ---------------------------------------------------------------------
CREATE ROLE kpi_review_clerk;
GRANT USAGE ON SCHEMA kpi TO kpi_review_clerk;
GRANT SELECT, UPDATE ON kpi.action, kpi.finding, kpi.review TO kpi_review_clerk;
INSERT INTO kpi.scope_member (role, scope_id) VALUES ('kpi_review_clerk', kpi.scope_id('rv'));
SET ROLE kpi_review_clerk;
UPDATE kpi.action SET state = 'done', outcome = '安全库存 15 天' WHERE id = :a2;
-- a clerk cannot write history of its own
SELECT public.kpi_try($$INSERT INTO kpi.review_history (review_id, entity, entity_id, op, changed_by) VALUES (1, 'review', 1, 'INSERT', 'x')$$);
RESET ROLE;
SELECT h.entity, h.op, h.old_state, h.new_state,
       CASE h.changed_by WHEN CURRENT_USER THEN 'owner' ELSE h.changed_by END AS actor,
       h.new_row ->> 'title' AS title
FROM kpi.review_history h WHERE h.review_id = :rid ORDER BY h.id;
-- no row for an update that changes nothing
UPDATE kpi.action SET title = title WHERE id = :a1;
SELECT count(*) AS history_rows FROM kpi.review_history WHERE review_id = :rid;

-- ---------------------------------------------------------------------
-- Alerts and findings: a finding from an alert in one call; an alert
-- resolved with the finding that explains it; has_action
-- ---------------------------------------------------------------------
INSERT INTO kpi.alert_rule (indicator_id) VALUES (kpi.indicator_id('rv.revenue'));
SELECT kpi.set_target('rv.revenue', 'rv.north.bj', '2026-06', '>= 100') > 0 AS target_set;
SELECT kpi.record('rv.revenue', 'rv.north.bj', 60, '2026-06-15') > 0 AS recorded;
SELECT id AS alert FROM kpi.alert WHERE indicator_id = kpi.indicator_id('rv.revenue') AND state = 'open' \gset
SELECT kpi.finding_from_alert(:alert, :rid, '六月物流延误', '旺季前锁定运力', 'logistics') AS f3 \gset
SELECT f.kind, s.code AS scope, regexp_replace(f.summary, 'alert [0-9]+', 'alert N') AS summary, f.root_cause, f.cause_category, f.alert_id = :alert AS linked
FROM kpi.finding f JOIN kpi.scope s ON s.id = f.scope_id WHERE f.id = :f3;
SELECT kpi.has_action(a) FROM kpi.alert a WHERE a.id = :alert;
INSERT INTO kpi.action (finding_id, title, owner, due) VALUES (:f3, '与第二家物流商签约', '物流经理', '2026-08-31');
SELECT kpi.has_action(a) FROM kpi.alert a WHERE a.id = :alert;
SELECT indicator, scope, period, state, severity, resolved_with, findings = ARRAY[:f3]::bigint[] AS findings,
       actions, open_actions, has_action
FROM kpi.alert_followup WHERE alert_id = :alert;
-- errors: unknown alert, unknown review, an alert outside the review's scope,
-- a finding about another indicator
SELECT public.kpi_try(format('SELECT kpi.finding_from_alert(999999, %s)', :rid));
SELECT public.kpi_try(format('SELECT kpi.finding_from_alert(%s, 999999)', :alert));
INSERT INTO kpi.review (title, period, scope_id) VALUES ('华南', '2026-Q2', kpi.scope_id('rv.south'));
SELECT public.kpi_try(format($$SELECT kpi.finding_from_alert(%s, (SELECT id FROM kpi.review WHERE title = '华南'))$$, :alert));
SELECT public.kpi_try(format('SELECT kpi.alert_resolve(%s, %L, NULL, %s)', :alert, 'alice', :f2));
SELECT public.kpi_try(format('SELECT kpi.alert_resolve(%s, %L, NULL, 999999)', :alert, 'alice'));
SELECT public.kpi_try(format($$INSERT INTO kpi.finding (review_id, indicator_id, alert_id) VALUES (%s, kpi.indicator_id('rv.output'), %s)$$, :rid, :alert));
-- resolve with the finding: the pointer is kept, the event says so
SELECT state, finding_id = :f3 AS with_finding FROM kpi.alert_resolve(:alert, 'alice', '已处理', :f3);
SELECT kind, actor, note = format('已处理 (finding %s)', :f3) AS note_names_finding FROM kpi.alert_event WHERE alert_id = :alert AND kind = 'resolve';
SELECT resolved_with = :f3 AS resolved_with FROM kpi.alert_followup WHERE alert_id = :alert;
-- a resolved alert takes no second resolution
SELECT public.kpi_try(format('SELECT kpi.alert_resolve(%s, %L)', :alert, 'alice'));

-- ---------------------------------------------------------------------
-- kpi.search_terms: words and CJK characters and pairs, under any locale
-- ---------------------------------------------------------------------
SELECT kpi.search_terms('Supplier-outage: ERP系统 故障!');
SELECT kpi.search_terms('Supplier-outage: ERP系统 故障!', true);
SELECT kpi.search_terms('ＡＢＣ１２ 全角', true) AS fullwidth;
SELECT kpi.search_terms('断', true) AS one_char, kpi.search_terms('断货', true) AS two_chars;
SELECT kpi.search_terms('。，、！ —— ...') AS punctuation_only, kpi.search_terms('') AS empty;
SELECT kpi.search_terms(NULL) IS NULL AS strict;
SELECT kpi.search_terms('café Ünïcode naïve') AS accents;
SELECT kpi.search_terms('カタカナ 한국어', true) AS kana_hangul;
SELECT array_length(kpi.search_terms(repeat('a', 500)), 1) AS long_word_terms,
       length((kpi.search_terms(repeat('a', 500)))[1]) AS cut_at;
-- a query's terms are found in every text that contains the query
SELECT kpi.search_terms('核心压缩机供应商停产') @> kpi.search_terms('供应商', true) AS contains,
       kpi.search_terms('核心压缩机供应商停产') @> kpi.search_terms('供应停', true) AS not_contains;

-- ---------------------------------------------------------------------
-- kpi.lessons: ranked search over root causes and lessons
-- ---------------------------------------------------------------------
INSERT INTO kpi.finding (review_id, indicator_id, kind, root_cause, lesson) VALUES
    (:rid, kpi.indicator_id('rv.revenue'), 'gap', '渠道价格战导致毛利下降', '价格策略要提前与渠道沟通'),
    (:rid, kpi.indicator_id('rv.revenue'), 'gap', 'Late supplier deliveries in May', 'Track supplier lead times weekly'),
    (:rid, kpi.indicator_id('rv.revenue'), 'gap', '供应商', NULL);
SELECT indicator, lesson, root_cause, scope, period, rank > 0 AS ranked
FROM kpi.lessons('供应商') WHERE scope LIKE 'rv%';
-- English with stemming: "suppliers" finds "supplier"; the lesson counts more than the root cause
SELECT lesson, root_cause FROM kpi.lessons('suppliers') WHERE scope LIKE 'rv%';
-- a phrase: every word must match; the phrase as written ranks first
SELECT lesson FROM kpi.lessons('supplier lead times') WHERE scope LIKE 'rv%';
SELECT lesson, rank > 0.1 AS phrase_bonus FROM kpi.lessons('supplier lead') WHERE scope LIKE 'rv%';
-- two Chinese words: both must occur, in any order
SELECT lesson FROM kpi.lessons('渠道 毛利') WHERE scope LIKE 'rv%';
SELECT lesson FROM kpi.lessons('毛利 价格战') WHERE scope LIKE 'rv%';
-- substring, not only whole words; nothing for what is not there
SELECT lesson FROM kpi.lessons('压缩') WHERE scope LIKE 'rv%';
SELECT count(*) FROM kpi.lessons('台风');
SELECT count(*) FROM kpi.lessons('typhoon');
-- empty and NULL queries
SELECT public.kpi_try($$SELECT * FROM kpi.lessons('   ')$$);
SELECT count(*) FROM kpi.lessons(NULL);
-- result columns as the SPEC names them
SELECT pg_get_function_result('kpi.lessons(text)'::regprocedure);
-- the index answers both kinds of query
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT id FROM kpi.finding f
WHERE kpi.search_terms(coalesce(f.root_cause, '') || ' ' || coalesce(f.lesson, ''), false) @> kpi.search_terms('断货', true);
EXPLAIN (COSTS OFF)
SELECT id FROM kpi.finding f
WHERE f.search_vector @@ websearch_to_tsquery('pg_catalog.english'::regconfig, 'supplier');
RESET enable_seqscan;

-- ---------------------------------------------------------------------
-- Every column of the new tables and views is described
-- ---------------------------------------------------------------------
SELECT c.relname, a.attname AS undocumented
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.oid IN ('kpi.review'::regclass, 'kpi.finding'::regclass, 'kpi.action'::regclass,
                'kpi.review_history'::regclass, 'kpi.scope_member'::regclass,
                'kpi.overdue_action'::regclass, 'kpi.alert_followup'::regclass)
  AND col_description(c.oid, a.attnum) IS NULL
ORDER BY 1, 2;

-- clean up what later suites do not expect
DELETE FROM kpi.scope_member WHERE role = 'kpi_review_clerk';
REVOKE ALL ON SCHEMA kpi FROM kpi_review_clerk;
REVOKE ALL ON kpi.action, kpi.finding, kpi.review FROM kpi_review_clerk;
DROP ROLE kpi_review_clerk;
