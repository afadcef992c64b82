// Client test, pgJDBC (Debian's libpostgresql-jdbc-java).
// Usage: java -cp postgresql.jar:. Clients HOST PORT DBNAME USER
// The same checks as clients.py, the way a Java BI tool binds: setString
// for the period and scope, setDouble and setObject(OffsetDateTime) for a
// measurement, DatabaseMetaData.getColumns for the descriptions (REMARKS).
import java.sql.*;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

public class Clients {
    static void fail(String what) {
        System.out.println("FAIL pgjdbc: " + what);
        System.exit(1);
    }

    static void ok(String what) {
        System.out.println("ok   pgjdbc: " + what);
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://" + args[0] + ":" + args[1] + "/" + args[2];
        try (Connection c = DriverManager.getConnection(url, args[3], "")) {
            DatabaseMetaData md = c.getMetaData();
            System.out.println("     " + md.getDriverName() + " " + md.getDriverVersion());
            c.setAutoCommit(false);
            double actual = 0;
            int rows = 0;
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT indicator, indicator_name, period_start, period_start_at, actual, attainment, status_rank "
                    + "FROM kpi.scorecard WHERE period = ? AND scope = ? ORDER BY indicator")) {
                ps.setString(1, "2026-Q2");
                ps.setString(2, "hq");
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows++;
                        if (!rs.getString(1).equals("sales.revenue"))
                            continue;
                        if (!"营业收入".equals(rs.getString(2)))
                            fail("indicator_name arrived as " + rs.getString(2));
                        Object a = rs.getObject(5);
                        if (!(a instanceof Double) || !(rs.getObject(6) instanceof Double))
                            fail("actual arrived as " + a.getClass().getName());
                        actual = (Double) a;
                        Object d = rs.getObject(3);
                        if (!(d instanceof java.sql.Date) || !d.toString().equals("2026-04-01"))
                            fail("period_start arrived as " + d);
                        OffsetDateTime t = rs.getObject(4, OffsetDateTime.class);
                        if (!t.toInstant().equals(OffsetDateTime.of(2026, 4, 1, 0, 0, 0, 0, ZoneOffset.ofHours(8)).toInstant()))
                            fail("period_start_at is " + t);
                        if (!(rs.getObject(7) instanceof Integer))
                            fail("status_rank arrived as " + rs.getObject(7).getClass().getName());
                        ok("scorecard 2026-Q2 hq with setString: sales.revenue 营业收入 actual " + actual
                           + " (Double), period_start " + d + " (java.sql.Date), period_start_at " + t);
                    }
                }
            }
            if (rows == 0 || actual == 0)
                fail("no scorecard row for sales.revenue, hq, 2026-Q2");
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT code, actual FROM kpi.rollup(?, ?) WHERE code = 'sales.revenue'")) {
                ps.setString(1, "2026-Q2");
                ps.setString(2, "hq");
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (rs.getDouble(2) != actual)
                        fail("kpi.rollup says " + rs.getDouble(2) + ", the scorecard " + actual);
                    ok("kpi.rollup(?, ?) with setString: " + rs.getString(1) + " " + rs.getDouble(2) + ", the scorecard's number");
                }
            }
            String revenue = "SELECT actual FROM kpi.scorecard WHERE indicator = 'sales.revenue' AND scope = 'hq.east.hangzhou' AND period = ?";
            double before, after;
            long id;
            try (PreparedStatement q = c.prepareStatement(revenue);
                 PreparedStatement rec = c.prepareStatement("SELECT kpi.record(?, ?, ?, ?)")) {
                q.setString(1, "2026-06");
                try (ResultSet rs = q.executeQuery()) { rs.next(); before = rs.getDouble(1); }
                rec.setString(1, "sales.revenue");
                rec.setString(2, "hq.east.hangzhou");
                rec.setDouble(3, 1.5);
                rec.setObject(4, OffsetDateTime.of(2026, 6, 30, 9, 0, 0, 0, ZoneOffset.ofHours(8)));
                try (ResultSet rs = rec.executeQuery()) { rs.next(); id = rs.getLong(1); }
                try (ResultSet rs = q.executeQuery()) { rs.next(); after = rs.getDouble(1); }
            }
            c.rollback();
            if (Math.abs(after - before - 1.5) > 1e-9)
                fail("actual went from " + before + " to " + after);
            ok("kpi.record(?, ?, ?, ?) with setString, setDouble, setObject(OffsetDateTime): id " + id
               + ", actual " + before + " -> " + after + " (rolled back)");
            int cols = 0, described = 0;
            String example = null;
            try (ResultSet rs = md.getColumns(null, "kpi", "scorecard", null)) {
                while (rs.next()) {
                    cols++;
                    String r = rs.getString("REMARKS");
                    if (r != null && !r.isEmpty()) {
                        described++;
                        if (rs.getString("COLUMN_NAME").equals("pace_status"))
                            example = "pace_status " + rs.getString("TYPE_NAME") + ": " + r;
                    }
                }
            }
            if (cols != 27 || described != 27)
                fail(cols + " columns, " + described + " with REMARKS");
            ok("getColumns: " + cols + " columns, every one with REMARKS (" + example + ")");
        }
    }
}
