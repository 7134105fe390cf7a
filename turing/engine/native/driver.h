/* The trial loop of the native kernels: what turing/engine/trials.py does step by step in
 * torch, fused into one pass per group of W trials.
 *
 * A system's kernel file defines its sizes (OBS, ACT, SIM, START_SIZE), its State, and
 * sys_reset, sys_step and sys_passive on lane vectors, then includes this file. What this
 * file adds is the same for every system: the interrogator network (an Elman network,
 * agents/interrogators.py), the choice of each step's input (the network's outputs, the
 * system's passive controller, or inputs given in advance), recording, and threads.
 *
 * Order of a trial (the engine's contract): reset gives observation 0; for t = 0 .. T-1
 * the judge reads observation t (and, if it sees inputs, the input that produced it); if
 * t < T - 1 the input is chosen and the system steps to observation t + 1. The judgement
 * is the judge's output 0 after the last observation. A trial whose observations are not
 * all finite is flagged failed.
 *
 * Threads take groups from a shared counter, so a thread that the operating system
 * deschedules (a busy machine) delays only the groups it holds: there is no barrier
 * between steps, and the default thread count cannot make a chunk much slower than one
 * thread would.
 */
#ifndef TURING_DRIVER_H
#define TURING_DRIVER_H

#include <pthread.h>
#include <string.h>

#include "philox.h"

#ifndef PIN_SIZE
#define PIN_SIZE 0
#endif

#include "args.h"

/* Lane k of group g reads trial base + k, or the group's last trial beyond the end (its
 * results are discarded): every lane computes on valid data. */
INLINE vf load_rows(const float *rows, int64_t n, int64_t row, const int64_t *trial) {
    vf v;
    for (int k = 0; k < W; k++) v[k] = rows[row * n + trial[k]];
    return v;
}
INLINE vu load_u32(const uint32_t *values, const int64_t *trial, int64_t stride) {
    vu v;
    for (int k = 0; k < W; k++) v[k] = values[trial[k] * stride];
    return v;
}
INLINE void store_rows(float *rows, int64_t n, int64_t row, int64_t base, int valid, vf v) {
    float *out = rows + row * n + base;
    if (valid == W) {
        memcpy(out, &v, sizeof v);
    } else {
        for (int k = 0; k < valid; k++) out[k] = v[k];
    }
}

/* The loop of one group. Always inlined into the variants below, so that for the usual
 * network sizes (given as constants) the compiler unrolls the network and keeps its state in
 * registers. */
INLINE void group_loop(const TrialArgs *a, int64_t base, const int H, const int I, const int O) {
    const int64_t n = a->n;
    const int valid = (int)(n - base < W ? n - base : W);
    int64_t trial[W];
    for (int k = 0; k < W; k++) trial[k] = base + (k < valid ? k : valid - 1);

    vf p[SIM];
    for (int i = 0; i < SIM; i++) p[i] = load_rows(a->params, n, i, trial);
    Streams st;
    st.k0 = load_u32(a->key, trial, a->key_stride);
    st.k1 = load_u32(a->key + (a->key_stride ? n : 1), trial, a->key_stride);
    st.stream = load_u32(a->stream, trial, 1);
    st.start_stream = load_u32(a->start_stream, trial, 1);
    st.input_stream = load_u32(a->input_stream, trial, 1);

    const int NW = a->n_weights;
    const int judge = NW > 0;
    vf w[judge ? NW : 1];
    if (judge) {
        for (int k = 0; k < W; k++) {
            const float *row = a->weights + (int64_t)a->interrogator[trial[k]] * NW;
            for (int j = 0; j < NW; j++) w[j][k] = row[j];
        }
    }
    /* Views of the flat weights (agents/interrogators.py): W_in [H, I + 1] (last column:
     * bias), W_rec [H, H], W_out [O, H + 1] (first column: bias). */
    const vf *w_in = w, *w_rec = w + H * (I + 1), *w_out = w + H * (I + 1) + H * H;

    vf start[START_SIZE > 0 ? START_SIZE : 1];
    const vf *given = NULL;
    if (a->start != NULL && START_SIZE > 0) {
        for (int i = 0; i < START_SIZE; i++) start[i] = load_rows(a->start, n, i, trial);
        given = start;
    }
    vf pin[PIN_SIZE > 0 ? PIN_SIZE : 1];
    if (a->pin != NULL)
        for (int i = 0; i < PIN_SIZE; i++) pin[i] = load_rows(a->pin, n, i, trial);

    State s;
    vf obs[OBS], action[ACT], previous[ACT];
    vf h[judge ? H : 1], out[judge ? O : 1];
    sys_reset(&s, p, &st, given, a->options, obs);
    float low[ACT], span[ACT];
    for (int i = 0; i < ACT; i++) {
        low[i] = a->action_low[i];
        span[i] = a->action_span[i];
        previous[i] = splat(a->action_initial[i]);
    }
    for (int j = 0; j < (judge ? H : 1); j++) h[j] = splat(0.0f);
    for (int j = 0; j < (judge ? O : 1); j++) out[j] = splat(0.0f);
    vf health = splat(0.0f);
    /* Locals, not a->...: stores into the output rows could alias the arguments' floats,
     * which would make the compiler reload them every step. */
    const int steps = a->steps, from = a->inputs_from, sees_input = a->judge_sees_input;
    float *const rec_obs = a->rec_obs, *const rec_out = a->rec_out, *const rec_act = a->rec_act;
    const float *const fixed = a->fixed, *const options = a->options;

    for (int t = 0; t < steps; t++) {
        for (int i = 0; i < OBS; i++) health += obs[i];
        if (judge) {
            vf x[I];
            for (int i = 0; i < OBS; i++) x[i] = obs[i];
            if (sees_input)
                for (int i = 0; i < ACT; i++) x[OBS + i] = previous[i];
            vf pre[H];
            for (int j = 0; j < H; j++) {
                const vf *row = w_in + j * (I + 1);
                vf acc = row[I];
                for (int i = 0; i < I; i++) acc = vfma(row[i], x[i], acc);
                const vf *rec = w_rec + j * H;
                for (int k = 0; k < H; k++) acc = vfma(rec[k], h[k], acc);
                pre[j] = acc;
            }
            for (int j = 0; j < H; j++) h[j] = vsigmoid(pre[j]);
            for (int o = 0; o < O; o++) {
                const vf *row = w_out + o * (H + 1);
                vf acc = row[0];
                for (int k = 0; k < H; k++) acc = vfma(row[k + 1], h[k], acc);
                out[o] = vsigmoid(acc);
            }
        }
        if (rec_obs)
            for (int i = 0; i < OBS; i++) store_rows(rec_obs, n, (int64_t)t * OBS + i, base, valid, obs[i]);
        if (rec_out && judge)
            for (int o = 0; o < O; o++) store_rows(rec_out, n, (int64_t)t * O + o, base, valid, out[o]);
        if (t == steps - 1) break;
        if (from == FROM_JUDGE) {
            for (int i = 0; i < ACT; i++) action[i] = out[1 + i] * span[i] + low[i];
        } else if (from == FROM_PASSIVE) {
            sys_passive((uint32_t)t, obs, p, &s, &st, options, pin, action);
        } else {
            for (int i = 0; i < ACT; i++) action[i] = load_rows(fixed, n, (int64_t)t * ACT + i, trial);
        }
        if (rec_act)
            for (int i = 0; i < ACT; i++) store_rows(rec_act, n, (int64_t)t * ACT + i, base, valid, action[i]);
        sys_step(&s, p, action, &st, (uint32_t)(t + 1), options, obs);
        for (int i = 0; i < ACT; i++) previous[i] = action[i];
    }
    vi finite = isfinite_mask(health);
    for (int k = 0; k < valid; k++) {
        a->judgement[base + k] = judge ? out[0][k] : 0.0f;
        a->failed[base + k] = finite[k] ? 0 : 1;
    }
}

static void group_generic(const TrialArgs *a, int64_t base) {
    group_loop(a, base, a->hidden, a->net_inputs, a->net_outputs);
}
/* The default hidden layer (5 units) in each mode: interrogate, passive, passive-io. */
static void group_interrogate(const TrialArgs *a, int64_t base) { group_loop(a, base, 5, OBS, 1 + ACT); }
static void group_passive(const TrialArgs *a, int64_t base) { group_loop(a, base, 5, OBS, 1); }
static void group_passive_io(const TrialArgs *a, int64_t base) { group_loop(a, base, 5, OBS + ACT, 1); }

typedef void (*GroupFunction)(const TrialArgs *, int64_t);

static GroupFunction group_function(const TrialArgs *a) {
    if (a->n_weights > 0 && a->hidden == 5) {
        if (a->net_inputs == OBS && a->net_outputs == 1 + ACT) return group_interrogate;
        if (a->net_inputs == OBS && a->net_outputs == 1) return group_passive;
        if (a->net_inputs == OBS + ACT && a->net_outputs == 1) return group_passive_io;
    }
    return group_generic;
}

typedef struct {
    const TrialArgs *args;
    GroupFunction run;
    int64_t groups;
    int64_t next; /* shared: the next group to take */
} Work;

static void *worker(void *arg) {
    Work *work = (Work *)arg;
    for (;;) {
        int64_t g = __atomic_fetch_add(&work->next, 1, __ATOMIC_RELAXED);
        if (g >= work->groups) break;
        work->run(work->args, g * W);
    }
    return NULL;
}

/* Runs every trial of `a`; returns 0, or -1 if a thread could not be started (the calling
 * thread then does the rest alone). */
int run_trials(const TrialArgs *a) {
    Work work = {a, group_function(a), (a->n + W - 1) / W, 0};
    int threads = a->threads < 1 ? 1 : a->threads;
    if (threads > work.groups) threads = (int)work.groups;
    if (threads > 256) threads = 256;
    pthread_t ids[256];
    int started = 0, status = 0;
    for (int i = 1; i < threads; i++) {
        if (pthread_create(&ids[started], NULL, worker, &work) != 0) {
            status = -1;
            break;
        }
        started++;
    }
    worker(&work);
    for (int i = 0; i < started; i++) pthread_join(ids[i], NULL);
    return status;
}

/* The kernel's sizes, for the loader to check against the system's declaration. */
void kernel_sizes(int32_t *sizes) {
    sizes[0] = OBS;
    sizes[1] = ACT;
    sizes[2] = SIM;
    sizes[3] = START_SIZE;
    sizes[4] = W;
}

#endif
