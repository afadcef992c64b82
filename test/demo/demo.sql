-- make demo: the kpi types at work on a small, realistic example.
-- A sales team's 2026: monthly revenue (万元) against a monthly goal of
-- >= 1,000, and the year-to-date revenue against the annual goal of 12,000,
-- paced by how much of the year has passed at each month end.
\pset footer off
CREATE EXTENSION kpi;
SET search_path = public, kpi;
SET timezone = 'Asia/Shanghai';

CREATE TEMP TABLE revenue (period kpi.period PRIMARY KEY, amount float8);
INSERT INTO revenue VALUES
  ('2026-01',  820), ('2026-02',  640), ('2026-03', 1130), ('2026-04', 1010),
  ('2026-05',  960), ('2026-06', 1240), ('2026-07', 1310), ('2026-08',  880),
  ('2026-09',  990), ('2026-10', 1080), ('2026-11', 1420), ('2026-12', 1560);

\echo
\echo '== kpi demo: sales.revenue 2026, monthly goal >= 1000, annual goal >= 12000 =='
\echo '   status bands: amber 0.8, green 0.95, blue 1.1'
\echo
SELECT r.period                                               AS month,
       r.amount                                               AS revenue,
       round((r.amount / '>= 1000'::kpi.goal)::numeric, 3)    AS attainment,
       (r.amount / '>= 1000'::kpi.goal) @ 'amber 0.8, green 0.95, blue 1.1'::kpi.bands AS status,
       sum(r.amount) OVER w                                   AS ytd,
       round(kpi.progress('2026', kpi.end_date(r.period) + 1)::numeric, 3) AS year_elapsed,
       round(kpi.pace(sum(r.amount) OVER w, '>= 12000', kpi.progress('2026', kpi.end_date(r.period) + 1))::numeric, 3) AS ytd_pace,
       kpi.status(kpi.pace(sum(r.amount) OVER w, '>= 12000', kpi.progress('2026', kpi.end_date(r.period) + 1)),
                  'amber 0.8, green 0.95, blue 1.1')         AS ytd_status
FROM revenue r
WINDOW w AS (ORDER BY r.period)
ORDER BY r.period;

\echo
\echo '== quarters: revenue summed per quarter against >= 3000 =='
SELECT q                                                      AS quarter,
       sum(r.amount)                                          AS revenue,
       round((sum(r.amount) / '>= 3000'::kpi.goal)::numeric, 3) AS attainment,
       (sum(r.amount) / '>= 3000'::kpi.goal) @ 'amber 0.8, green 0.95, blue 1.1'::kpi.bands AS status
FROM kpi.periods('2026', 'quarter') q
JOIN revenue r ON r.period <@ q
GROUP BY q ORDER BY q;

\echo
\echo '== other kinds of goal: lower is better, from a baseline, within a range =='
SELECT indicator, goal, actual, round(kpi.attainment(actual, goal)::numeric, 3) AS attainment,
       actual <@ goal AS meets, kpi.attainment(actual, goal) @ 'amber 0.8, green 1'::kpi.bands AS status
FROM (VALUES ('客诉率 complaint rate %',   '<= 2.5'::kpi.goal,       2.9::float8),
             ('交付周期 lead time days',    '<= 10 from 14',           11),
             ('毛利率 gross margin %',      '>= 32 from 28',           31),
             ('库存周转 stock turns',       '4.5 .. 6',                6.3)) v(indicator, goal, actual);
