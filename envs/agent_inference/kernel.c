/* Case study 1's agent as a native kernel: envs/agent_inference/system.py on lane vectors.
 *
 * Same function as AgentInference.reset/step/passive_action (checked step for step by
 * tests/test_engine.py), with the same draws: one Philox block per step at slot 0, word 0
 * deciding whether a startled agent calms down and words 1, 2 the observation noise (Box-
 * Muller, cosine branch); the passive light schedule reads word j of the trial's input
 * stream for the j-th change of the light.
 *
 * options: [noise_std, hold, changes]. */
#define OBS 1
#define ACT 1
#define SIM 4
#define START_SIZE 0

#include "vec.h"
#include "philox.h"

typedef struct {
    vf light;
    vi startled;
} State;

INLINE vf observe(vf speed, vf u1, vf u2, float noise_std) {
    vf z, unused;
    box_muller(u1, u2, &z, &unused);
    return speed + noise_std * z;
}

INLINE void sys_reset(State *s, const vf *p, const Streams *st, const vf *start, const float *opt, vf *obs) {
    (void)p;
    (void)start;
    vf u[4];
    uniform4(st, st->stream, 0, 0, DYNAMICS, u);
    s->light = splat(0.0f);
    s->startled = splati(0);
    obs[0] = observe(splat(0.0f), u[1], u[2], opt[0]);
}

INLINE void sys_step(State *s, const vf *p, const vf *action, const Streams *st, uint32_t t,
                     const float *opt, vf *obs) {
    vf u[4];
    uniform4(st, st->stream, t, 0, DYNAMICS, u);
    vf light = vclamp(action[0], 0.0f, 1.0f);
    vi calms = u[0] < p[3];
    vi startles = (light - s->light) > p[2];
    s->startled = seli(s->startled, ~calms, startles);
    vf speed = sel(s->startled, p[1], p[0] * light);
    s->light = light;
    obs[0] = observe(speed, u[1], u[2], opt[0]);
}

/* The light of step t + 1: 0 for the first `hold` steps, then level j = (t + 1) / hold - 1
 * (the last one after `changes` changes), word j of the input stream. */
INLINE void sys_passive(uint32_t t, const vf *obs, const vf *p, const State *s, const Streams *st,
                        const float *opt, const vf *pin, vf *action) {
    (void)obs;
    (void)p;
    (void)s;
    int hold = (int)opt[1], changes = (int)opt[2];
    int k = (int)(t + 1) / hold;
    if (k == 0 || changes == 0) {
        action[0] = splat(0.0f);
        return;
    }
    int j = (k < changes ? k : changes) - 1;
    vf u[4];
    uniform4(st, st->input_stream, 0, (uint32_t)(j / 4), INPUT, u);
    action[0] = u[j % 4];
}

#include "driver.h"
