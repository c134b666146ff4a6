/*  rng - a small deterministic random stream (xoshiro256**, seeded by splitmix64)  */
#ifndef MT_RNG_H_INCLUDED
#define MT_RNG_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

//  The whole state of a stream; a plain value, so it can be copied and
//  stored in a checkpoint.
typedef struct {
    uint64_t s [4];
} rng_t;

//  Seed the stream: the four state words are four successive splitmix64
//  outputs starting from seed.
void rng_seed (rng_t *self, uint64_t seed);

//  The next 64 random bits (xoshiro256**).
uint64_t rng_next (rng_t *self);

//  A uniform float in [lo, hi): one draw, u = (bits >> 40) * 2^-24,
//  result lo + (hi - lo) * u computed in float.
float rng_uniform (rng_t *self, float lo, float hi);

//  A uniform integer in [0, n), n >= 1, without modulo bias (Lemire's
//  multiply-and-reject; may take more than one draw).
uint64_t rng_below (rng_t *self, uint64_t n);

//  Shuffle idx [0..n) in place (Fisher-Yates: for i = n-1 down to 1,
//  j = rng_below (i + 1), swap idx [i] and idx [j]).
void rng_shuffle (rng_t *self, uint32_t *idx, size_t n);

#endif
