/*
 * pgstub.h
 *	  What the harness (parsers.c) asks of the backend stub (pgstub.c).
 */
#ifndef KPI_PGSTUB_H
#define KPI_PGSTUB_H

/* The last ereport(ERROR): its SQLSTATE and formatted messages. */
typedef struct PgStubError
{
	int			elevel;
	int			sqlerrcode;
	char	   *message;
	char	   *detail;
	char	   *hint;
	const char *filename;
	int			lineno;
	const char *funcname;
} PgStubError;

extern const PgStubError *pgstub_last_error(void);
extern void pgstub_clear_error(void);
/* The five-character SQLSTATE of an error code, written to buf[6]. */
extern char *pgstub_sqlstate(int sqlerrcode, char *buf);

/* Release every palloc'd chunk still live, as a memory context reset does. */
extern void pgstub_free_all(void);
extern size_t pgstub_live_chunks(void);

#endif							/* KPI_PGSTUB_H */
