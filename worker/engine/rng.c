/*  rng - a small deterministic random stream (xoshiro256**, seeded by splitmix64)  */
#include "rng.h"

static uint64_t s_rotl (uint64_t x, int k);
static uint64_t s_splitmix64 (uint64_t *state);

static uint64_t
s_rotl (uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t
s_splitmix64 (uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void
rng_seed (rng_t *self, uint64_t seed)
{
    uint64_t state = seed;
    for (int i = 0; i < 4; i++)
        self->s [i] = s_splitmix64 (&state);
}

uint64_t
rng_next (rng_t *self)
{
    uint64_t *s = self->s;
    uint64_t result = s_rotl (s [1] * 5, 7) * 9;
    uint64_t t = s [1] << 17;
    s [2] ^= s [0];
    s [3] ^= s [1];
    s [1] ^= s [2];
    s [0] ^= s [3];
    s [2] ^= t;
    s [3] = s_rotl (s [3], 45);
    return result;
}

float
rng_uniform (rng_t *self, float lo, float hi)
{
    float u = (float) (rng_next (self) >> 40) * (1.0f / 16777216.0f);
    return lo + (hi - lo) * u;
}

uint64_t
rng_below (rng_t *self, uint64_t n)
{
    //  Lemire: the high word of a 128-bit product, rejecting the few low
    //  words that would bias the result
    unsigned __int128 m = (unsigned __int128) rng_next (self) * n;
    uint64_t low = (uint64_t) m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            m = (unsigned __int128) rng_next (self) * n;
            low = (uint64_t) m;
        }
    }
    return (uint64_t) (m >> 64);
}

void
rng_shuffle (rng_t *self, uint32_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t) rng_below (self, i);
        uint32_t tmp = idx [i - 1];
        idx [i - 1] = idx [j];
        idx [j] = tmp;
    }
}
