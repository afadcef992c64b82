/*
 * search.c
 *	  kpi.search_terms(text, query): the terms a lessons search indexes,
 *	  for English and for Chinese, Japanese and Korean text alike, under
 *	  any locale.
 *
 * PostgreSQL's text search and pg_trgm find words through the database's
 * ctype locale; under the C locale (common on servers, and used by test
 * clusters) neither sees a CJK character as part of a word, so a Chinese
 * root cause yields no terms at all.  CJK text has no spaces between words
 * either.  So terms are cut here, by Unicode block rather than locale:
 *
 *	- a run of letters and digits is one word, ASCII letters folded to lower
 *	  case and full-width letters and digits (Ａ, １) read as ASCII;
 *	- a run of CJK characters (Han, kana, Hangul) gives every character and
 *	  every pair of neighbours (bigrams, as Lucene's CJK analyser does); a
 *	  query gives only the pairs (or the single character of a run of one),
 *	  so a query's terms are contained in the terms of every text that
 *	  contains the query as a substring;
 *	- everything else (spaces, punctuation, symbols) separates.
 *
 * The result is sorted and free of duplicates, ready for a GIN index on
 * text[] and the @> operator.  Under a server encoding other than UTF8,
 * every multibyte character counts as CJK (those encodings are EUC_CN,
 * EUC_JP, EUC_KR, EUC_TW ...).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "kpi.h"

PG_FUNCTION_INFO_V1(kpi_search_terms);

/* Longest word kept, in bytes: longer ones are cut (at a character). */
#define SEARCH_MAX_WORD 60

typedef enum CharClass
{
	CH_SEPARATOR,
	CH_WORD,
	CH_CJK
} CharClass;

/* Is Unicode code point c a CJK character (Han, kana, Hangul, Bopomofo)? */
static bool
is_cjk(pg_wchar c)
{
	return (c >= 0x1100 && c <= 0x11FF) ||	/* Hangul Jamo */
		(c >= 0x2E80 && c <= 0x2FDF) ||	/* radicals, Kangxi */
		(c >= 0x3040 && c <= 0x31FF) ||	/* kana, Bopomofo, Hangul compat */
		(c >= 0x3400 && c <= 0x4DBF) ||	/* Han extension A */
		(c >= 0x4E00 && c <= 0x9FFF) ||	/* Han */
		(c >= 0xAC00 && c <= 0xD7AF) ||	/* Hangul syllables */
		(c >= 0xF900 && c <= 0xFAFF) ||	/* Han compatibility */
		(c >= 0xFF66 && c <= 0xFF9F) ||	/* half-width katakana */
		(c >= 0x20000 && c <= 0x3FFFF);	/* Han extensions B and up */
}

/*
 * Classify the character at p (len bytes).  For a word character that
 * stands for an ASCII one, *ascii is set to that (lower-case) character,
 * else to 0 and the bytes are kept as they are.
 */
static CharClass
classify(const unsigned char *p, int len, bool utf8, char *ascii)
{
	pg_wchar	c;

	*ascii = 0;
	if (len == 1)
	{
		if (p[0] < 0x80)
		{
			if (isalnum(p[0]))
			{
				*ascii = pg_ascii_tolower((unsigned char) p[0]);
				return CH_WORD;
			}
			return CH_SEPARATOR;
		}
		return CH_WORD;			/* a letter of a single-byte encoding */
	}
	if (!utf8)
		return CH_CJK;

	c = utf8_to_unicode(p);
	if (is_cjk(c))
		return CH_CJK;
	if (c >= 0xFF10 && c <= 0xFF19)	/* full-width digits */
	{
		*ascii = '0' + (c - 0xFF10);
		return CH_WORD;
	}
	if ((c >= 0xFF21 && c <= 0xFF3A) || (c >= 0xFF41 && c <= 0xFF5A))
	{
		*ascii = 'a' + (c - (c >= 0xFF41 ? 0xFF41 : 0xFF21));
		return CH_WORD;
	}
	if ((c >= 0x80 && c <= 0xBF) ||	/* Latin-1 punctuation, no-break space */
		(c >= 0x2000 && c <= 0x2BFF) ||	/* punctuation, symbols, arrows */
		(c >= 0x3000 && c <= 0x303F) ||	/* CJK punctuation: 、。「」 */
		(c >= 0xFE30 && c <= 0xFE4F) ||	/* CJK compatibility forms */
		(c >= 0xFF00 && c <= 0xFFEF))	/* other full-width punctuation */
		return CH_SEPARATOR;
	return CH_WORD;
}

/* The terms found so far. */
typedef struct Terms
{
	text	  **items;
	int			n;
	int			capacity;
} Terms;

static void
terms_add(Terms *t, const char *s, int len)
{
	if (t->n == t->capacity)
	{
		t->capacity = t->capacity ? t->capacity * 2 : 16;
		t->items = t->items ? repalloc(t->items, sizeof(text *) * t->capacity)
			: palloc(sizeof(text *) * t->capacity);
	}
	t->items[t->n++] = cstring_to_text_with_len(s, len);
}

/* Order terms bytewise (any fixed order will do for sorting out duplicates). */
static int
term_cmp(const void *a, const void *b)
{
	text	   *x = *(text *const *) a;
	text	   *y = *(text *const *) b;
	int			lx = VARSIZE_ANY_EXHDR(x),
				ly = VARSIZE_ANY_EXHDR(y);
	int			c = memcmp(VARDATA_ANY(x), VARDATA_ANY(y), Min(lx, ly));

	return c != 0 ? c : (lx > ly) - (lx < ly);
}

/* Emit the word collected in buf (if any) and empty it. */
static void
flush_word(Terms *t, StringInfo buf)
{
	if (buf->len > 0)
		terms_add(t, buf->data, buf->len);
	resetStringInfo(buf);
}

/* Cut text into terms (see the file's comment). */
static Terms
cut_terms(const char *s, int len, bool query)
{
	Terms		t = {NULL, 0, 0};
	const unsigned char *p = (const unsigned char *) s;
	const unsigned char *end = p + len;
	bool		utf8 = GetDatabaseEncoding() == PG_UTF8;
	StringInfoData word;
	const unsigned char *prev = NULL;	/* previous CJK character of the run */
	int			prevlen = 0;
	int			run = 0;		/* CJK characters in the current run */
	bool		word_full = false;

	initStringInfo(&word);
	while (p < end)
	{
		int			clen = pg_mblen((const char *) p);
		char		ascii;
		CharClass	cls;

		if (clen > end - p)
			clen = end - p;
		cls = classify(p, clen, utf8, &ascii);

		if (cls != CH_CJK && run > 0)
		{
			/* a query's lone CJK character is its own term */
			if (query && run == 1)
				terms_add(&t, (const char *) prev, prevlen);
			run = 0;
			prev = NULL;
		}
		if (cls != CH_WORD)
		{
			flush_word(&t, &word);
			word_full = false;
		}

		if (cls == CH_WORD)
		{
			int			add = ascii ? 1 : clen;

			if (!word_full && word.len + add <= SEARCH_MAX_WORD)
			{
				if (ascii)
					appendStringInfoChar(&word, ascii);
				else
					appendBinaryStringInfo(&word, (const char *) p, clen);
			}
			else
				word_full = true;
		}
		else if (cls == CH_CJK)
		{
			if (!query)
				terms_add(&t, (const char *) p, clen);
			if (prev != NULL)
			{
				char		pair[16];

				memcpy(pair, prev, prevlen);
				memcpy(pair + prevlen, p, clen);
				terms_add(&t, pair, prevlen + clen);
			}
			prev = p;
			prevlen = clen;
			run++;
		}
		p += clen;
	}
	flush_word(&t, &word);
	if (query && run == 1)
		terms_add(&t, (const char *) prev, prevlen);
	pfree(word.data);
	return t;
}

/*
 * kpi.search_terms(t text, query boolean DEFAULT false) -> text[]: the
 * sorted, distinct terms of t; query = true gives the terms a query must
 * find (see the file's comment).
 */
Datum
kpi_search_terms(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	bool		query = PG_GETARG_BOOL(1);
	Terms		t = cut_terms(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in), query);
	Datum	   *elems;
	int			i,
				n = 0;

	if (t.n > 1)
	{
		qsort(t.items, t.n, sizeof(text *), term_cmp);
		for (i = 0; i < t.n; i++)
			if (n == 0 || term_cmp(&t.items[n - 1], &t.items[i]) != 0)
				t.items[n++] = t.items[i];
	}
	else
		n = t.n;

	elems = palloc(sizeof(Datum) * Max(n, 1));
	for (i = 0; i < n; i++)
		elems[i] = PointerGetDatum(t.items[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}
