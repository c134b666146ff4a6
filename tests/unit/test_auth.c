/*  test_auth - the broker's key folders: who is admitted where, roles, and the rule for acting on a job  */
#include "testutil.h"
#include "auth.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

//  A new key pair whose public cert is saved as dir/name (when dir is not
//  NULL); its public key (Z85) is copied to key.
static zcert_t *
s_cert (const char *dir, const char *name, char key [41])
{
    zcert_t *cert = zcert_new ();
    CHECK (cert);
    if (dir)
        CHECK (zcert_save_public (cert, test_path (dir, name)) == 0);
    snprintf (key, 41, "%s", zcert_public_txt (cert));
    return cert;
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (NULL);
    //  No keys: everyone may act on every job, whoever submitted it
    CHECK (auth_may_act (NULL, "local", "local"));
    CHECK (auth_may_act (NULL, "local", "someone-else"));
    CHECK (auth_may_act (NULL, "local", NULL));

    char dir [256];
    test_temp_dir (dir, sizeof dir, "mt-auth");
    char clients [512], workers [512], admins [512];
    snprintf (clients, sizeof clients, "%s/clients", dir);
    snprintf (workers, sizeof workers, "%s/workers", dir);
    snprintf (admins, sizeof admins, "%s/admins", dir);
    CHECK (mkdir (clients, 0700) == 0 && mkdir (workers, 0700) == 0);
    zcert_t *own = zcert_new ();
    CHECK (own && zcert_save_secret (own, test_path (dir, "broker_secret")) == 0);
    char alice [41], bob [41], root [41], w1 [41], stranger [41];
    zcert_t *certs [] = {
        s_cert (clients, "alice", alice), s_cert (clients, "bob", bob),
        s_cert (workers, "w1", w1), s_cert (NULL, NULL, stranger), s_cert (NULL, NULL, root)
    };

    //  No admins/ folder: it is optional, and nobody is an admin
    char *cause = NULL;
    auth_t *auth = auth_new (dir, NULL, &cause);
    CHECK_MSG (auth, "%s", cause);
    CHECK (auth_keys (auth, AUTH_ADMINS) == 0);
    CHECK (auth_role (auth, alice) == AUTH_ROLE_CLIENT);
    CHECK (auth_role (auth, root) == AUTH_ROLE_NONE);
    CHECK (auth_role (auth, w1) == AUTH_ROLE_NONE);            // a worker is no client
    CHECK (auth_role (auth, NULL) == AUTH_ROLE_NONE);
    CHECK_STR_EQ (auth_name (auth, bob), "bob");
    CHECK (auth_name (auth, w1) == NULL && auth_name (auth, stranger) == NULL);

    //  An admin: admitted on the clients socket, not on the workers one
    CHECK (mkdir (admins, 0700) == 0);
    zcert_save_public (certs [4], test_path (admins, "root"));
    auth_refresh (auth);
    CHECK (auth_keys (auth, AUTH_ADMINS) == 1);
    CHECK (auth_role (auth, root) == AUTH_ROLE_ADMIN);
    CHECK (auth_admits (auth, AUTH_CLIENTS, root));
    CHECK (!auth_admits (auth, AUTH_WORKERS, root));
    CHECK (!auth_admits (auth, AUTH_CLIENTS, w1) && auth_admits (auth, AUTH_WORKERS, w1));
    CHECK_STR_EQ (auth_name (auth, root), "root");

    //  The rule: its own jobs for a client, every job for an admin, none for the rest
    CHECK (auth_may_act (auth, alice, alice));
    CHECK (!auth_may_act (auth, bob, alice));
    CHECK (!auth_may_act (auth, alice, NULL) && !auth_may_act (auth, alice, "local"));
    CHECK (auth_may_act (auth, root, alice) && auth_may_act (auth, root, "local"));
    CHECK (auth_may_act (auth, root, NULL));
    CHECK (!auth_may_act (auth, stranger, stranger));       // not admitted: not even its own
    CHECK (!auth_may_act (auth, w1, w1));                   // a worker key acts on no job
    CHECK (!auth_may_act (auth, NULL, NULL));

    //  A key in both folders is an admin; a key removed loses its role and its jobs
    zcert_save_public (certs [1], test_path (admins, "bob-admin"));
    CHECK (unlink (test_path (clients, "alice")) == 0);
    auth_refresh (auth);
    CHECK (auth_role (auth, bob) == AUTH_ROLE_ADMIN);
    CHECK (auth_may_act (auth, bob, alice));
    CHECK (auth_role (auth, alice) == AUTH_ROLE_NONE);
    CHECK (!auth_may_act (auth, alice, alice));
    CHECK (auth_name (auth, alice) == NULL);
    auth_destroy (&auth);
    auth_destroy (&auth);

    for (size_t i = 0; i < sizeof certs / sizeof certs [0]; i++)
        zcert_destroy (&certs [i]);
    zcert_destroy (&own);
    test_remove_dir (dir);
    printf ("test_auth: ok\n");
    return 0;
}
