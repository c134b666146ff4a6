/*  test_progress - the transfer bar's text: bytes, rate, ETA, cut to the terminal's width  */
#include "testutil.h"
#include "progress.h"

#include <string.h>

int
main (void)
{
    char line [256];
    progress_format ("upload", 12000000, 30000000, 3000, 200, line, sizeof line);
    CHECK_STR_CONTAINS (line, "upload [########............]");
    CHECK_STR_CONTAINS (line, "12.0 MB/30.0 MB");
    CHECK_STR_CONTAINS (line, "4.0 MB/s");
    CHECK_STR_CONTAINS (line, "ETA 4 s");
    //  Done: no ETA; a size not known yet: no bar
    progress_format ("download", 500, 500, 1000, 200, line, sizeof line);
    CHECK (strstr (line, "ETA") == NULL);
    CHECK_STR_CONTAINS (line, "500 B/500 B");
    progress_format ("download", 2500, -1, 1000, 200, line, sizeof line);
    CHECK_STR_CONTAINS (line, "[] 2.5 kB/?");
    //  Cut to the width
    progress_format ("upload", 1, 1000000000000, 1000, 20, line, sizeof line);
    CHECK (strlen (line) == 20);
    //  Not a terminal (stderr is captured under ctest): nothing is drawn, and
    //  every call takes NULL
    progress_t *bar = progress_new ("upload", 100);
    CHECK (bar);
    progress_update (bar, 50, 100);
    progress_destroy (&bar);
    CHECK (bar == NULL);
    progress_update (NULL, 1, 1);
    progress_destroy (&bar);
    printf ("test_progress: ok\n");
    return 0;
}
