/*  driver - runs a libFuzzer target without libFuzzer: every file of the given
    folders (or the files given), then seeded random mutations of them  */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DRIVER_MUTATIONS   4000        // runs of mutated inputs after the corpus
#define DRIVER_MAX_INPUT   65536       // bytes; longer corpus files are cut
#define DRIVER_TIME_LIMIT  10          // seconds of mutations at most

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct {
    uint8_t *data;
    size_t size;
} input_t;

static input_t s_inputs [1024];
static int s_count;

static uint64_t
s_rand (uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ULL;
}

static void
s_load (const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file || s_count == (int) (sizeof s_inputs / sizeof s_inputs [0])) {
        if (file)
            fclose (file);
        return;
    }
    uint8_t *data = malloc (DRIVER_MAX_INPUT);
    size_t size = data ? fread (data, 1, DRIVER_MAX_INPUT, file) : 0;
    fclose (file);
    if (!data)
        return;
    s_inputs [s_count].data = data;
    s_inputs [s_count++].size = size;
}

static void
s_load_path (const char *path)
{
    struct stat st;
    if (stat (path, &st) || !S_ISDIR (st.st_mode)) {
        s_load (path);
        return;
    }
    DIR *dir = opendir (path);
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        if (entry->d_name [0] == '.')
            continue;
        char name [4096];
        snprintf (name, sizeof name, "%s/%s", path, entry->d_name);
        s_load (name);
    }
    if (dir)
        closedir (dir);
}

//  One to eight edits: bit flips, random bytes, interesting bytes, inserts,
//  deletes, truncation, and splices from another input.
static size_t
s_mutate (uint8_t *buffer, size_t size, uint64_t *state)
{
    static const uint8_t interesting [] = { 0x00, 0x7f, 0x80, 0xc0, 0xc1, 0xc4, 0xcf, 0xd9,
                                            0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xff, '"', '{', '[' };
    int edits = 1 + (int) (s_rand (state) % 8);
    for (int i = 0; i < edits; i++) {
        size_t at = size ? (size_t) (s_rand (state) % size) : 0;
        switch (s_rand (state) % 7) {
            case 0: if (size) buffer [at] ^= (uint8_t) (1u << (s_rand (state) % 8)); break;
            case 1: if (size) buffer [at] = (uint8_t) s_rand (state); break;
            case 2: if (size) buffer [at] = interesting [s_rand (state) % sizeof interesting]; break;
            case 3:
                if (size < DRIVER_MAX_INPUT) {
                    memmove (buffer + at + 1, buffer + at, size - at);
                    buffer [at] = (uint8_t) s_rand (state);
                    size++;
                }
                break;
            case 4:
                if (size) {
                    memmove (buffer + at, buffer + at + 1, size - at - 1);
                    size--;
                }
                break;
            case 5: size = at; break;
            default: {
                input_t *other = &s_inputs [s_rand (state) % (uint64_t) s_count];
                if (other->size == 0)
                    break;
                size_t from = (size_t) (s_rand (state) % other->size);
                size_t len = 1 + (size_t) (s_rand (state) % (other->size - from));
                if (at + len > DRIVER_MAX_INPUT)
                    len = DRIVER_MAX_INPUT - at;
                memcpy (buffer + at, other->data + from, len);
                if (at + len > size)
                    size = at + len;
            }
        }
    }
    return size;
}

int
main (int argc, char *argv [])
{
    for (int i = 1; i < argc; i++)
        s_load_path (argv [i]);
    if (s_count == 0) {
        fprintf (stderr, "driver: no inputs; give corpus folders or files\n");
        return 1;
    }
    for (int i = 0; i < s_count; i++)
        LLVMFuzzerTestOneInput (s_inputs [i].data, s_inputs [i].size);
    uint8_t *buffer = malloc (DRIVER_MAX_INPUT);
    uint64_t state = 0x2545f4914f6cdd1dULL;
    time_t start = time (NULL);
    int runs = 0;
    for (; runs < DRIVER_MUTATIONS && time (NULL) - start < DRIVER_TIME_LIMIT; runs++) {
        input_t *seed = &s_inputs [s_rand (&state) % (uint64_t) s_count];
        memcpy (buffer, seed->data, seed->size);
        size_t size = s_mutate (buffer, seed->size, &state);
        //  a copy of exactly size bytes, so ASan sees reads past the end
        uint8_t *exact = malloc (size ? size : 1);
        memcpy (exact, buffer, size);
        LLVMFuzzerTestOneInput (exact, size);
        free (exact);
    }
    printf ("driver: %d corpus inputs, %d mutations, no crash\n", s_count, runs);
    free (buffer);
    for (int i = 0; i < s_count; i++)
        free (s_inputs [i].data);
    return 0;
}
