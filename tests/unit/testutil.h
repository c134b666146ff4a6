/*  testutil - the few checks unit tests share; a failed check exits 1  */
#ifndef MT_TESTUTIL_H_INCLUDED
#define MT_TESTUTIL_H_INCLUDED

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#define CHECK(cond) do { if (!(cond)) { \
    fprintf (stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    exit (1); } } while (0)
#define CHECK_MSG(cond, ...) do { if (!(cond)) { \
    fprintf (stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
    fprintf (stderr, __VA_ARGS__); fputc ('\n', stderr); exit (1); } } while (0)
#define CHECK_STR_CONTAINS(hay, needle) do { const char *h_ = (hay); \
    if (!h_ || !strstr (h_, (needle))) { \
    fprintf (stderr, "%s:%d: expected '%s' in '%s'\n", __FILE__, __LINE__, \
             (needle), h_ ? h_ : "(null)"); exit (1); } } while (0)
#define CHECK_STR_EQ(got, want) do { const char *g_ = (got), *w_ = (want); \
    if (!g_ || strcmp (g_, w_) != 0) { \
    fprintf (stderr, "%s:%d: %s = '%s', expected '%s'\n", __FILE__, __LINE__, #got, \
             g_ ? g_ : "(null)", w_); exit (1); } } while (0)
#define CHECK_NEAR(a, b, tol) do { double a_ = (a), b_ = (b); \
    if (!(fabs (a_ - b_) <= (tol))) { \
    fprintf (stderr, "%s:%d: %s = %.9g, expected %.9g (tol %g)\n", \
             __FILE__, __LINE__, #a, a_, b_, (double) (tol)); exit (1); } } while (0)

//  Path of a fixture under test_data/ (MT_TEST_DATA); static buffer.
static inline const char *test_data (const char *name)
{
    static char path [4096];
    const char *dir = getenv ("MT_TEST_DATA");
    snprintf (path, sizeof path, "%s/%s", dir ? dir : "test_data", name);
    return path;
}

//  Make a fresh folder named after prefix under $TMPDIR (or /tmp) into dir.
static inline void test_temp_dir (char *dir, size_t size, const char *prefix)
{
    const char *tmp = getenv ("TMPDIR");
    snprintf (dir, size, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
    CHECK (mkdtemp (dir));
}

//  Remove dir and all in it (a test's temp folder).
static inline void test_remove_dir (const char *dir)
{
    char cmd [4200];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK (system (cmd) == 0);
}

//  True when files a and b hold the same bytes.
static inline bool test_files_equal (const char *a, const char *b)
{
    FILE *fa = fopen (a, "rb"), *fb = fopen (b, "rb");
    CHECK (fa && fb);
    int ca, cb;
    do {
        ca = fgetc (fa);
        cb = fgetc (fb);
    } while (ca == cb && ca != EOF);
    fclose (fa);
    fclose (fb);
    return ca == cb;
}

//  dir/name in one of 64 rotating buffers, so several can be in use at once.
static inline const char *test_path (const char *dir, const char *name)
{
    static char paths [64][512];
    static int next;
    char *path = paths [next++ % 64];
    snprintf (path, 512, "%s/%s", dir, name);
    return path;
}

#endif
