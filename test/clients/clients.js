// Client test, node-postgres (the npm package pg, version 8).
// Usage: node clients.js HOST PORT DBNAME USER  (with pg installed beside it)
// The same checks as clients.py: bound parameters as JS strings, numbers
// that arrive as JS numbers (float8; a numeric would arrive as a string),
// dates as Date objects, text as UTF-8.
'use strict';
const { Client } = require('pg');

function fail(what) { console.log('FAIL node-postgres: ' + what); process.exit(1); }
function ok(what) { console.log('ok   node-postgres: ' + what); }

async function main() {
    const [host, port, database, user] = process.argv.slice(2);
    const c = new Client({ host, port: Number(port), database, user });
    await c.connect();
    console.log('     pg ' + require('pg/package.json').version + ', node ' + process.version);
    const sc = await c.query({
        name: 'scorecard',
        text: 'SELECT indicator, indicator_name, period_start, period_start_at, actual, attainment, status_rank ' +
              'FROM kpi.scorecard WHERE period = $1 AND scope = $2 ORDER BY indicator',
        values: ['2026-Q2', 'hq'] });
    const r = sc.rows.find(x => x.indicator === 'sales.revenue');
    if (!r) fail('no scorecard row for sales.revenue, hq, 2026-Q2');
    if (r.indicator_name !== '营业收入') fail('indicator_name arrived as ' + r.indicator_name);
    if (typeof r.actual !== 'number' || typeof r.attainment !== 'number')
        fail('actual arrived as ' + typeof r.actual + ' (' + r.actual + ')');
    if (typeof r.status_rank !== 'number') fail('status_rank arrived as ' + typeof r.status_rank);
    if (!(r.period_start instanceof Date) || !(r.period_start_at instanceof Date))
        fail('period_start arrived as ' + typeof r.period_start);
    if (r.period_start_at.toISOString() !== '2026-03-31T16:00:00.000Z')
        fail('period_start_at is ' + r.period_start_at.toISOString());
    ok(`scorecard 2026-Q2 hq bound as strings: ${sc.rows.length} rows; sales.revenue ${r.indicator_name} ` +
       `actual ${r.actual} (number; actual + 1 = ${r.actual + 1}), period_start_at ${r.period_start_at.toISOString()} (Date)`);
    const ru = await c.query("SELECT code, actual FROM kpi.rollup($1, $2) WHERE code = 'sales.revenue'", ['2026-Q2', 'hq']);
    if (ru.rows[0].actual !== r.actual) fail('kpi.rollup says ' + ru.rows[0].actual + ', the scorecard ' + r.actual);
    ok(`kpi.rollup($1, $2) bound as strings: ${ru.rows[0].code} ${ru.rows[0].actual}, the scorecard's number`);
    const q = "SELECT actual FROM kpi.scorecard WHERE indicator = 'sales.revenue' AND scope = 'hq.east.hangzhou' AND period = $1";
    await c.query('BEGIN');
    const before = (await c.query(q, ['2026-06'])).rows[0].actual;
    const rec = await c.query({ name: 'record', text: 'SELECT kpi.record($1, $2, $3, $4) AS id',
                                values: ['sales.revenue', 'hq.east.hangzhou', 1.5, new Date('2026-06-30T09:00:00+08:00')] });
    const after = (await c.query(q, ['2026-06'])).rows[0].actual;
    await c.query('ROLLBACK');
    if (Math.abs(after - before - 1.5) > 1e-9) fail(`actual went from ${before} to ${after}`);
    ok(`kpi.record as a named prepared statement (string, string, number, Date): id ${rec.rows[0].id}, ` +
       `actual ${before} -> ${after} (rolled back)`);
    const meta = await c.query('SELECT * FROM kpi.scorecard LIMIT 0');
    const desc = await c.query("SELECT count(col_description('kpi.scorecard'::regclass, a.attnum)) AS n " +
                               "FROM pg_attribute a WHERE a.attrelid = 'kpi.scorecard'::regclass AND a.attnum > 0");
    const f8 = meta.fields.filter(f => f.dataTypeID === 701).length;
    if (meta.fields.length !== 27 || Number(desc.rows[0].n) !== 27)
        fail(`${meta.fields.length} fields, ${desc.rows[0].n} described`);
    ok(`metadata: ${meta.fields.length} fields (${f8} float8), every one described`);
    await c.end();
}
main().catch(e => fail(e.message));
