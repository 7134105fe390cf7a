/* Case study 3's swarm as a native kernel: sim.py's control step on lane vectors.
 *
 * The same function as turing.envs.swarm.sim (start positions by rejection sampling, the
 * line-of-sight sensors, the focal robot's override, 10 substeps of the exact arc with all
 * contacts resolved at once after each, the focal robot's observed motion) and the same
 * draws, in the same order (see sim.py). Formulas and their order are sim.py's, so that
 * only the transcendentals (vec.h's polynomials against torch's) differ by float rounding;
 * the contact sums run over j = 0 .. N-1 for every robot, as in sim.py. Speed: pairs that
 * are not near each other in any lane at the start of a step (sim.NEAR_MARGIN) skip the
 * contact test during that step: the skipped work would add exact zeros. Every constant comes from
 * sim.py as a -D definition (sim.kernel_constants); tests/test_swarm.py checks the two
 * simulators against each other.
 *
 * Simulation parameters: [8] (focal controller v_l0, v_r0, v_l1, v_r1; then the other
 * robots'). options: [noise (0 or 1)]. */
#define OBS 2
#define ACT 1
#define SIM 8
#define START_SIZE (3 * NR)
#define NPAIRS (NR * (NR - 1) / 2)
#define NOISE_BLOCKS ((2 * NR + 3) / 4) /* blocks of uniform(2N): the wheel factors */

#include "vec.h"
#include "philox.h"

typedef struct {
    vf x[NR], y[NR], heading[NR];
} State;

/* any(mask) in one instruction where the machine has one (vec.h's any() reads every lane):
 * the contact loop asks it of every near pair in every substep. */
#if defined(__AVX__) && W == 8
#include <immintrin.h>
INLINE int any_lane(vi mask) { return _mm256_movemask_ps((__m256)mask) != 0; }
#elif defined(__AVX512F__) && W == 16
#include <immintrin.h>
INLINE int any_lane(vi mask) { return _mm512_test_epi32_mask((__m512i)mask, (__m512i)mask) != 0; }
#else
INLINE int any_lane(vi mask) { return any(mask); }
#endif

/* torch.remainder(x, m) for x in [-m, 2m) (as kernel.c of case study 2). */
INLINE vf wrap_remainder(vf x, float m) {
    vf r = sel(x >= m, x - m, x);
    return sel(r < 0.0f, r + m, r);
}

/* ------------------------------------------------------------------ sensing */
INLINE void line_of_sight(const State *s, const vf *c, const vf *sn, vi *seen) {
    vf ox[NR], oy[NR];
    for (int i = 0; i < NR; i++) {
        ox[i] = s->x[i] + BODY_RADIUS * c[i];
        oy[i] = s->y[i] + BODY_RADIUS * sn[i];
    }
    for (int i = 0; i < NR; i++) {
        vi hit = splati(0);
        for (int j = 0; j < NR; j++) {
            if (j == i) continue;
            vf dx = s->x[j] - ox[i], dy = s->y[j] - oy[i];
            vf b = dx * c[i] + dy * sn[i];
            vf q = dx * dx + dy * dy - BODY_RADIUS2;
            hit = hit | (q <= 0.0f) | ((b >= 0.0f) & ((b * b - q) >= 0.0f));
        }
        seen[i] = hit;
    }
}

/* ------------------------------------------------------------------ motion */
INLINE void drive(State *s, const vf *v_left, const vf *v_right, const vf *cos_heading,
                  const vf *sin_heading) {
    vf chord[NR], c[NR], sn[NR], cos_turn[NR], sin_turn[NR], turn[NR];
    for (int i = 0; i < NR; i++) {
        vf v = 0.5f * (v_left[i] + v_right[i]);
        turn[i] = (v_right[i] - v_left[i]) * TURN_PER_SPEED;
        vf half = 0.5f * turn[i];
        vf sin_half, cos_half;
        vsincos(half, &sin_half, &cos_half);
        vf sinc = sel(vabs(half) > 1e-4f, sin_half / half, splat(1.0f));
        chord[i] = v * SUBSTEP * sinc;
        c[i] = cos_heading[i] * cos_half - sin_heading[i] * sin_half;
        sn[i] = sin_heading[i] * cos_half + cos_heading[i] * sin_half;
        cos_turn[i] = 1.0f - 2.0f * sin_half * sin_half;
        sin_turn[i] = 2.0f * sin_half * cos_half;
    }
    /* Broad phase: the pairs near each other in some lane, in the order (0,1), (0,2), ...,
     * (1,2), ...: robot k then receives its contacts in the order j = 0 .. N-1. Each pair
     * is written and kept (count advances) only if some lane is near. */
    int first[NPAIRS > 0 ? NPAIRS : 1], second[NPAIRS > 0 ? NPAIRS : 1];
    vi near[NPAIRS > 0 ? NPAIRS : 1];
    int count = 0;
    for (int i = 0; i < NR; i++) {
        for (int j = i + 1; j < NR; j++) {
            vf dx = s->x[i] - s->x[j], dy = s->y[i] - s->y[j];
            vi close = (dx * dx + dy * dy) < NEAR_DISTANCE2;
            first[count] = i;
            second[count] = j;
            near[count] = close;
            count += any_lane(close);
        }
    }
    vf *x = s->x, *y = s->y;
    for (int k = 0; k < SUBSTEPS; k++) {
        for (int i = 0; i < NR; i++) {
            x[i] = x[i] + chord[i] * c[i];
            y[i] = y[i] + chord[i] * sn[i];
        }
        if (count) {
            /* Every near pair's correction (zero where it does not overlap), from the
             * positions before any of them; branch-free, which beats skipping pairs. */
            vf cx[NR], cy[NR];
            for (int i = 0; i < NR; i++) cx[i] = cy[i] = splat(0.0f);
            for (int p = 0; p < count; p++) {
                const int i = first[p], j = second[p];
                vf dx = x[i] - x[j], dy = y[i] - y[j];
                vf d2 = dx * dx + dy * dy;
                vi contact = near[p] & (d2 < CONTACT_DISTANCE2);
                vf factor = CONTACT_DISTANCE / vsqrt(vmax(splat(1e-12f), d2));
                vf scale = sel(contact, 0.5f * (factor - 1.0f), splat(0.0f));
                vf px = dx * scale, py = dy * scale;
                cx[i] = cx[i] + px;
                cy[i] = cy[i] + py;
                cx[j] = cx[j] - px;
                cy[j] = cy[j] - py;
            }
            for (int i = 0; i < NR; i++) {
                x[i] = x[i] + cx[i];
                y[i] = y[i] + cy[i];
            }
        }
        for (int i = 0; i < NR; i++) {
            vf c2 = c[i] * cos_turn[i] - sn[i] * sin_turn[i];
            sn[i] = sn[i] * cos_turn[i] + c[i] * sin_turn[i];
            c[i] = c2;
        }
    }
    for (int i = 0; i < NR; i++)
        s->heading[i] =
            wrap_remainder(s->heading[i] + (float)SUBSTEPS * turn[i] + PI_F, TWO_PI_F) - PI_F;
}

INLINE vf observe(vf value, vf z, int noise) {
    if (noise) value = value + OBSERVATION_NOISE_STD * z;
    return vclamp(value, -OBSERVATION_BOUND, OBSERVATION_BOUND);
}

/* ------------------------------------------------------------------ the system */
INLINE void sys_reset(State *s, const vf *p, const Streams *st, const vf *start, const float *opt, vf *obs) {
    (void)p;
    if (start) {
        for (int i = 0; i < NR; i++) {
            s->x[i] = start[i];
            s->y[i] = start[NR + i];
            s->heading[i] = start[2 * NR + i];
        }
    } else {
        /* Robot i, attempt a: block i * START_ATTEMPTS + a of the start stream. */
        for (int i = 0; i < NR; i++) {
            vi todo = splati(-1);
            s->x[i] = s->y[i] = s->heading[i] = splat(0.0f);
            for (uint32_t attempt = 0; any(todo) && attempt < START_ATTEMPTS; attempt++) {
                vf u[4];
                uniform4(st, st->start_stream, 0, (uint32_t)i * START_ATTEMPTS + attempt, START, u);
                vf px = (2.0f * u[0] - 1.0f) * START_RADIUS;
                vf py = (2.0f * u[1] - 1.0f) * START_RADIUS;
                vi ok = (px * px + py * py) <= START_RADIUS2;
                for (int j = 0; j < i; j++) {
                    vf dx = px - s->x[j], dy = py - s->y[j];
                    ok = ok & ((dx * dx + dy * dy) >= CONTACT_DISTANCE2);
                }
                vi take = todo & ok;
                s->x[i] = sel(take, px, s->x[i]);
                s->y[i] = sel(take, py, s->y[i]);
                s->heading[i] = sel(take, TWO_PI_F * u[2], s->heading[i]);
                todo = todo & ~take;
            }
        }
    }
    const int noise = opt[0] != 0.0f;
    vf z0 = splat(0.0f), z1 = splat(0.0f);
    if (noise) {
        vf u[4];
        uniform4(st, st->stream, 0, 0, DYNAMICS, u);
        box_muller(u[0], u[1], &z0, &z1);
    }
    obs[0] = observe(splat(0.0f), z0, noise);
    obs[1] = observe(splat(0.0f), z1, noise);
}

INLINE void sys_step(State *s, const vf *p, const vf *action, const Streams *st, uint32_t t,
                     const float *opt, vf *obs) {
    const int noise = opt[0] != 0.0f;
    vf c[NR], sn[NR];
    for (int i = 0; i < NR; i++) vsincos(s->heading[i], &sn[i], &c[i]);
    vi seen[NR];
    line_of_sight(s, c, sn, seen);
    vi force_on = action[0] > OVERRIDE_THRESHOLD;
    vi force_off = action[0] < -OVERRIDE_THRESHOLD;
    seen[0] = (seen[0] | force_on) & ~force_off;

    vf factor[4 * NOISE_BLOCKS];
    vf z0 = splat(0.0f), z1 = splat(0.0f);
    if (noise) {
        for (int b = 0; b < NOISE_BLOCKS; b++) {
            vf u[4];
            uniform4(st, st->stream, t, (uint32_t)b, DYNAMICS, u);
            for (int w = 0; w < 4; w++) factor[4 * b + w] = u[w] * WHEEL_NOISE_SPAN + WHEEL_NOISE_LOW;
        }
        vf u[4];
        uniform4(st, st->stream, t, NOISE_BLOCKS, DYNAMICS, u);
        box_muller(u[0], u[1], &z0, &z1);
    }
    vf v_left[NR], v_right[NR];
    for (int i = 0; i < NR; i++) {
        const vf *q = i < REPLICAS ? p : p + 4;
        vf left = sel(seen[i], q[2], q[0]) * MAX_WHEEL_SPEED;
        vf right = sel(seen[i], q[3], q[1]) * MAX_WHEEL_SPEED;
        if (noise) {
            left = left * factor[2 * i];
            right = right * factor[2 * i + 1];
        }
        v_left[i] = vclamp(left, -MAX_WHEEL_SPEED, MAX_WHEEL_SPEED);
        v_right[i] = vclamp(right, -MAX_WHEEL_SPEED, MAX_WHEEL_SPEED);
    }
    vf x0 = s->x[0], y0 = s->y[0];
    drive(s, v_left, v_right, c, sn);
    vf linear = ((s->x[0] - x0) * c[0] + (s->y[0] - y0) * sn[0]) * SPEED_SCALE;
    vf angular = (v_right[0] - v_left[0]) * TURN_SCALE;
    obs[0] = observe(linear, z0, noise);
    obs[1] = observe(angular, z1, noise);
}

/* No override: every robot reads its own sensor. */
INLINE void sys_passive(uint32_t t, const vf *obs, const vf *p, const State *s, const Streams *st,
                        const float *opt, const vf *pin, vf *action) {
    (void)t;
    (void)obs;
    (void)p;
    (void)s;
    (void)st;
    (void)opt;
    (void)pin;
    action[0] = splat(0.0f);
}

#include "driver.h"
