/* Philox words for turing/engine/random.py on the CPU: the same function as its torch
 * implementation (checked bit for bit by tests/test_engine.py), one call instead of about a
 * hundred small tensor operations, which is what a single-trial Gymnasium step needs. */
#include <string.h>

#include "philox.h"

/* out[(4 b + w) * n + k]: word w of block `slot + b` of trial k. */
void philox_words(int64_t n, const uint32_t *key, int64_t key_stride, const uint32_t *stream,
                  uint32_t t, uint32_t slot, uint32_t blocks, uint32_t phase, uint32_t *out) {
    for (int64_t base = 0; base < n; base += W) {
        int valid = (int)(n - base < W ? n - base : W);
        vu k0, k1, c0;
        for (int k = 0; k < W; k++) {
            int64_t trial = base + (k < valid ? k : valid - 1);
            k0[k] = key[trial * key_stride];
            k1[k] = key[(key_stride ? n : 1) + trial * key_stride];
            c0[k] = stream[trial];
        }
        for (uint32_t b = 0; b < blocks; b++) {
            vu w[4];
            philox(c0, splatu(t), splatu(slot + b), splatu(phase), k0, k1, w);
            for (int j = 0; j < 4; j++) {
                uint32_t *row = out + (int64_t)(4 * b + j) * n + base;
                if (valid == W)
                    memcpy(row, &w[j], sizeof w[j]);
                else
                    for (int k = 0; k < valid; k++) row[k] = w[j][k];
            }
        }
    }
}
