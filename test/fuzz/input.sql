-- Fuzz the text input of kpi.period, kpi.goal, kpi.bands and kpi.tally:
-- random strings over the types' alphabets, and mutations of valid values.
-- Every input must either parse and round-trip through its text form, or be
-- rejected with one of the documented SQLSTATEs; anything else is reported
-- as a NOTICE starting with FUZZ, which fails test/scripts/t_fuzz.sh.
-- Seeded, so every run tries the same inputs.
DO $$
DECLARE s text; t text; out1 text; out2 text; ok int := 0; bad int := 0;
  alphabet text := '0123456789-WHQwhq .,:+e<>=fromamberngeblu eI中tcoun=sumaxlfirstlatdn';
BEGIN
  PERFORM setseed(0.42);
  FOR i IN 1 .. 40000 LOOP
    s := '';
    FOR j IN 1 .. (random() * 40)::int LOOP
      s := s || substr(alphabet, 1 + (random() * (length(alphabet) - 1))::int, 1);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['kpi.period', 'kpi.goal', 'kpi.bands', 'kpi.tally'] LOOP
      BEGIN
        EXECUTE format('SELECT %L::%s::text', s, t) INTO out1;
        EXECUTE format('SELECT %L::%s::text', out1, t) INTO out2;
        IF out1 IS DISTINCT FROM out2 THEN
          RAISE NOTICE 'FUZZ % does not round-trip: % -> % -> %', t, s, out1, out2;
        END IF;
        ok := ok + 1;
      EXCEPTION WHEN OTHERS THEN
        IF SQLSTATE NOT IN ('22007', '22008', '22P02', '22023', '22003') THEN
          RAISE NOTICE 'FUZZ % on %: % %', t, s, SQLSTATE, SQLERRM;
        END IF;
        bad := bad + 1;
      END;
    END LOOP;
  END LOOP;
  RAISE NOTICE 'random strings: % parsed, % rejected', ok, bad;
END $$;
-- structured fuzz: near-valid forms
DO $$
DECLARE s text; t text; out1 text; out2 text; ok int := 0; bad int := 0;
  seeds text[] := ARRAY['2026-W53','2026-Q3','2026-12-31','>= 1200 from 1000','95 .. 105','<= 3 from 5',
                        'amber 0.8, green 0.95, blue 1.2','count=3, sum=6, min=1, max=3, first=1 at 2026-07-01 00:00:00+00, last=3 at 2026-07-02 00:00:00+00'];
  k int; pos int;
BEGIN
  PERFORM setseed(0.7);
  FOR i IN 1 .. 40000 LOOP
    s := seeds[1 + (random() * 7)::int];
    FOR k IN 1 .. 1 + (random() * 3)::int LOOP
      pos := 1 + (random() * length(s))::int;
      s := overlay(s placing substr('0123456789-.,: e+x9', 1 + (random() * 18)::int, 1) from pos for (random() * 2)::int);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['kpi.period', 'kpi.goal', 'kpi.bands', 'kpi.tally'] LOOP
      BEGIN
        EXECUTE format('SELECT %L::%s::text', s, t) INTO out1;
        EXECUTE format('SELECT %L::%s::text', out1, t) INTO out2;
        IF out1 IS DISTINCT FROM out2 THEN
          RAISE NOTICE 'FUZZ % does not round-trip: % -> % -> %', t, s, out1, out2;
        END IF;
        ok := ok + 1;
      EXCEPTION WHEN OTHERS THEN
        IF SQLSTATE NOT IN ('22007', '22008', '22P02', '22023', '22003') THEN
          RAISE NOTICE 'FUZZ % on %: % %', t, s, SQLSTATE, SQLERRM;
        END IF;
        bad := bad + 1;
      END;
    END LOOP;
  END LOOP;
  RAISE NOTICE 'mutated values: % parsed, % rejected', ok, bad;
END $$;
-- kpi.search_terms (the lessons search): random text from a mix of ASCII,
-- Latin letters, punctuation, full-width forms, kana, Hangul and Han; no
-- error, sorted and distinct terms, and the property the search rests on:
-- the query terms of any substring are contained in the text's terms.
DO $$
DECLARE doc text; q text; n int := 0; s int; l int;
  alphabet text := 'ab Z9-,.é供应商断货华北缺料。，、！ＡＢ１カタ한국語ñ' || chr(12288) || chr(160);
  terms text[]; qterms text[];
BEGIN
  PERFORM setseed(0.3);
  FOR i IN 1 .. 20000 LOOP
    doc := '';
    FOR k IN 1 .. (random() * 30)::int LOOP
      doc := doc || substr(alphabet, 1 + (random() * (length(alphabet) - 1))::int, 1);
    END LOOP;
    terms := kpi.search_terms(doc);
    IF terms IS DISTINCT FROM ARRAY(SELECT t FROM (SELECT DISTINCT t FROM unnest(terms) t) d ORDER BY convert_to(t, 'UTF8')) THEN
      RAISE NOTICE 'FUZZ search_terms not sorted and distinct: % -> %', doc, terms;
    END IF;
    s := 1 + (random() * length(doc))::int;
    l := (random() * (length(doc) - s + 1))::int;
    q := substr(doc, s, l);
    qterms := kpi.search_terms(q, true);
    -- words match whole (a query cut inside a word is another word); CJK
    -- text matches any substring
    IF NOT terms @> qterms
       AND NOT (substr(doc, s - 1, 1) || left(q, 1)) ~ '^[abZ9éＡＢ１ñ]{2}$'
       AND NOT (right(q, 1) || substr(doc, s + l, 1)) ~ '^[abZ9éＡＢ１ñ]{2}$' THEN
      RAISE NOTICE 'FUZZ search_terms(%) does not contain the terms of its substring %: % vs %', doc, q, terms, qterms;
    END IF;
    n := n + 1;
  END LOOP;
  RAISE NOTICE 'search terms: % random texts cut without error', n;
END $$;
