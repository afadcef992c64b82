/*
 * kpi.c
 *	  Module entry of the kpi extension: the magic block that lets
 *	  PostgreSQL check the library was built for this server.
 */
#include "postgres.h"
#include "fmgr.h"

PG_MODULE_MAGIC;
