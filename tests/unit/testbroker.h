/*  testbroker - an in-process broker's folder and config for the unit tests that run one  */
#ifndef MT_TESTBROKER_H_INCLUDED
#define MT_TESTBROKER_H_INCLUDED

#include "testutil.h"
#include "broker.h"

#include <stdlib.h>

//  A fresh temp folder and what a broker keeps there: its two ipc://
//  endpoints, its database and its blobs.
typedef struct {
    char dir [64];
    char clients [256], workers [256], db [256], data [256];
} test_broker_t;

//  Make the folder (named after tag) and fill config with the defaults and
//  the folder's endpoints and files; config borrows paths' strings.
static inline void
test_broker_config (test_broker_t *paths, const char *tag, broker_config_t *config)
{
    snprintf (paths->dir, sizeof paths->dir, "/tmp/mt-%s.XXXXXX", tag);
    CHECK (mkdtemp (paths->dir));
    snprintf (paths->clients, sizeof paths->clients, "ipc://%s/clients", paths->dir);
    snprintf (paths->workers, sizeof paths->workers, "ipc://%s/workers", paths->dir);
    snprintf (paths->db, sizeof paths->db, "%s/mt.db", paths->dir);
    snprintf (paths->data, sizeof paths->data, "%s/data", paths->dir);
    broker_config_init (config);
    config->clients = paths->clients;
    config->workers = paths->workers;
    config->db = paths->db;
    config->data_dir = paths->data;
}

//  Remove the folder and all in it.
static inline void
test_broker_remove (test_broker_t *paths)
{
    char cmd [128];
    snprintf (cmd, sizeof cmd, "rm -rf %s", paths->dir);
    CHECK (system (cmd) == 0);
}

#endif
