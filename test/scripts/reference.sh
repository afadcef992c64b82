#!/usr/bin/env bash
# Writes docs/reference.md to stdout: every type, function, aggregate,
# operator, table and view of the installed extension, with the
# descriptions the catalog holds (COMMENT ON), and every SQLSTATE the
# extension raises (from its C sources and its installed functions, named as in
# PostgreSQL's errcodes.h).  Generated, so that it cannot drift:
# t_reference.sh fails when docs/reference.md differs from this output.
#   bash test/scripts/reference.sh > docs/reference.md
# Needs a running server (PGHOST etc.) with kpi installed; it creates and
# drops a database of its own.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
db=kpi_reference
psql_q() { PGOPTIONS="-c client_min_messages=warning" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
trap 'psql_q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT
psql_q -d $db -c "CREATE EXTENSION kpi"
q() { psql_q -d $db -At -F '|' -c "$1"; }

version=$(q "SELECT extversion FROM pg_extension WHERE extname = 'kpi'")
cat <<EOF
# Reference (release $version)

Generated from the catalog of an installed \`kpi\` by
\`test/scripts/reference.sh\`; \`make test\` fails when this page and the
catalog differ. The descriptions are the objects' comments (\`COMMENT ON\`),
also shown by \`\\dx+ kpi\`, \`\\df+ kpi.*\` and BI tools. Everything lives in
schema \`kpi\`. "owner only" marks functions not granted to PUBLIC; "definer"
those that run with the owner's rights.

EOF

echo "## Types"
echo
echo "| type | kind | description |"
echo "|---|---|---|"
q "SELECT format('| \`%s\` | %s | %s |', t.typname,
                CASE t.typtype WHEN 'b' THEN 'base' WHEN 'e' THEN 'enum: ' || (SELECT string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)
                               WHEN 'c' THEN 'composite' WHEN 'd' THEN 'domain' ELSE t.typtype::text END,
                replace(coalesce(obj_description(t.oid, 'pg_type'), ''), '|', '\\|'))
   FROM pg_type t
   WHERE t.typnamespace = 'kpi'::regnamespace AND t.typtype IN ('b', 'e', 'd')
      AND t.typelem = 0 AND t.typname !~ '^_'
   ORDER BY t.typname"
echo

echo "## Functions"
echo
echo "Type input/output and support functions (\`period_in\`, \`goal_send\`,"
echo "\`period_cmp\` …) are listed with the operators they implement."
echo
echo "| function | returns | | description |"
echo "|---|---|---|---|"
q "SELECT format('| \`%s(%s)\` | %s | %s | %s |', p.proname,
                replace(pg_get_function_identity_arguments(p.oid), '|', '\\|'),
                replace(replace(pg_get_function_result(p.oid), '|', '\\|'), E'\n', ' '),
                concat_ws(', ', CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END,
                          CASE WHEN p.prosecdef THEN 'definer' END,
                          CASE WHEN NOT has_function_privilege('public', p.oid, 'EXECUTE') THEN 'owner only' END,
                          CASE WHEN p.prorettype = 'trigger'::regtype THEN 'trigger' END),
                replace(replace(coalesce(obj_description(p.oid, 'pg_proc'), ''), '|', '\\|'), E'\n', ' '))
   FROM pg_proc p
   WHERE p.pronamespace = 'kpi'::regnamespace AND p.prokind = 'f'
     AND NOT EXISTS (SELECT FROM pg_type t WHERE p.oid IN (t.typinput, t.typoutput, t.typreceive, t.typsend))
     AND NOT EXISTS (SELECT FROM pg_operator o WHERE o.oprcode = p.oid)
     AND NOT EXISTS (SELECT FROM pg_amproc a WHERE a.amproc = p.oid)
     AND NOT EXISTS (SELECT FROM pg_aggregate a WHERE p.oid IN (a.aggtransfn, a.aggfinalfn, a.aggcombinefn))
   ORDER BY p.proname, pg_get_function_identity_arguments(p.oid)"
echo

echo "## Aggregates"
echo
echo "| aggregate | returns | parallel | description |"
echo "|---|---|---|---|"
q "SELECT format('| \`%s(%s)\` | %s | %s | %s |', p.proname, pg_get_function_identity_arguments(p.oid),
                format_type(p.prorettype, NULL),
                CASE p.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted' ELSE 'unsafe' END,
                replace(coalesce(obj_description(p.oid, 'pg_proc'), ''), '|', '\\|'))
   FROM pg_proc p WHERE p.pronamespace = 'kpi'::regnamespace AND p.prokind = 'a'
   ORDER BY p.proname, pg_get_function_identity_arguments(p.oid)"
echo

echo "## Operators"
echo
echo "Write them as \`OPERATOR(kpi.=)\`, or put \`kpi\` on the \`search_path\`."
echo
echo "| operator | left | right | result | function | description |"
echo "|---|---|---|---|---|---|"
q "SELECT format('| \`%s\` | %s | %s | %s | \`%s\` | %s |', replace(o.oprname, '|', '\\|'),
                coalesce(format_type(NULLIF(o.oprleft, 0), NULL), ''), format_type(o.oprright, NULL),
                format_type(o.oprresult, NULL), o.oprcode::regproc,
                replace(coalesce(obj_description(o.oid, 'pg_operator'), obj_description(o.oprcode, 'pg_proc'), ''), '|', '\\|'))
   FROM pg_operator o WHERE o.oprnamespace = 'kpi'::regnamespace
   ORDER BY format_type(o.oprleft, NULL), format_type(o.oprright, NULL), o.oprname"
echo

echo "## Tables and views"
echo
for rel in $(q "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'kpi'::regnamespace
                AND c.relkind IN ('r', 'v', 'm', 'p') ORDER BY c.relkind DESC, c.relname"); do
    q "SELECT format(E'### \`kpi.%s\` (%s)\n\n%s\n\n| column | type | description |\n|---|---|---|',
                     c.relname, CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' ELSE 'view' END,
                     coalesce(obj_description(c.oid, 'pg_class'), ''))
       FROM pg_class c WHERE c.oid = 'kpi.$rel'::regclass"
    q "SELECT format('| \`%s\` | %s | %s |', a.attname, format_type(a.atttypid, a.atttypmod),
                    replace(coalesce(col_description(a.attrelid, a.attnum), ''), '|', '\\|'))
       FROM pg_attribute a WHERE a.attrelid = 'kpi.$rel'::regclass AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY a.attnum"
    echo
done

echo "## Error codes"
echo
echo "The SQLSTATEs the extension raises itself (PostgreSQL raises others, such"
echo "as \`42501\` for a missing privilege on a table, as for any table)."
echo
echo "| SQLSTATE | condition |"
echo "|---|---|"
errcodes="$("$PG_CONFIG" --includedir-server)/utils/errcodes.h"
{
    grep -rhoE "ERRCODE_[A-Z_0-9]+" "$KPI_ROOT"/src/*.c | sed 's/^ERRCODE_//'
    # the installed functions' bodies, not every script ever released
    q "SELECT p.prosrc FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'kpi'::regnamespace" |
        grep -oiE "ERRCODE *= *'[a-z_0-9]+'" | sed -E "s/.*'(.*)'/\1/" | tr 'a-z' 'A-Z'
} | sort -u | while read -r name; do
    if [[ $name =~ ^[0-9A-Z]{5}$ ]] && ! grep -q "ERRCODE_$name[[:space:]]" "$errcodes"; then
        code=$name
        name=$(grep -E "MAKE_SQLSTATE\('${code:0:1}','${code:1:1}','${code:2:1}','${code:3:1}','${code:4:1}'\)" "$errcodes" |
               sed -E 's/#define ERRCODE_([A-Z_0-9]+).*/\1/' | head -1 || true)
        name=${name:-"kpi's own"}
    else
        code=$(grep -E "^#define ERRCODE_$name[[:space:]]" "$errcodes" |
               sed -E "s/.*MAKE_SQLSTATE\('(.)','(.)','(.)','(.)','(.)'\).*/\1\2\3\4\5/" || true)
    fi
    [ -n "$code" ] || continue
    case $name in *" "*) ;; *) name=$(echo "$name" | tr 'A-Z' 'a-z') ;; esac
    printf '| `%s` | %s |\n' "$code" "$name"
done | sort -u
