/* The trial loop on CUDA: driver.h's loop with one trial per thread.
 *
 * The generated system code (sys_reset, sys_step, sys_passive on scalars, scalar.h) comes
 * first; this file adds the interrogator network, the choice of inputs and recording, in the
 * order of driver.h and with the same arithmetic (lanemath.h's sigmoid, fused multiply-adds
 * in the network's sums), so that a trial computes on a GPU what it computes on the CPU.
 * A whole trial runs in one thread: there is one launch per batch, not one per step.
 *
 * Built with TURING_HOST_CUDA by a host C++ compiler, run_trials runs the trials one after
 * the other on the CPU (how the tests check this file without a GPU).
 */
#ifndef TURING_DRIVER_CUH
#define TURING_DRIVER_CUH

#include "args.h"

#ifndef PIN_SIZE
#define PIN_SIZE 0
#endif
#define MAX_HIDDEN 32
#define MAX_INPUTS 64
#define MAX_OUTPUTS 33

INLINE vf row(const float *rows, int64_t n, int64_t r, int64_t k) { return rows[r * n + k]; }

/* One trial: H hidden units, I network inputs, O outputs (template arguments for the usual
 * shapes, so that the network lives in registers; 0 reads them from the arguments). */
template <int H_, int I_, int O_>
INLINE void trial(const TrialArgs *a, int64_t k) {
    const int64_t n = a->n;
    const int H = H_ ? H_ : a->hidden, I = I_ ? I_ : a->net_inputs, O = O_ ? O_ : a->net_outputs;
    vf p[SIM];
    for (int i = 0; i < SIM; i++) p[i] = row(a->params, n, i, k);
    Streams st;
    st.k0 = a->key[k * a->key_stride];
    st.k1 = a->key[(a->key_stride ? n : 1) + k * a->key_stride];
    st.stream = a->stream[k];
    st.start_stream = a->start_stream[k];
    st.input_stream = a->input_stream[k];
    const int judge = a->n_weights > 0;
    const float *w = judge ? a->weights + (int64_t)a->interrogator[k] * a->n_weights : a->params;
    const float *w_in = w, *w_rec = w + H * (I + 1), *w_out = w + H * (I + 1) + H * H;

    vf start[START_SIZE > 0 ? START_SIZE : 1];
    const vf *given = 0;
    if (a->start != 0 && START_SIZE > 0) {
        for (int i = 0; i < START_SIZE; i++) start[i] = row(a->start, n, i, k);
        given = start;
    }
    vf pin[PIN_SIZE > 0 ? PIN_SIZE : 1];
    if (a->pin != 0)
        for (int i = 0; i < PIN_SIZE; i++) pin[i] = row(a->pin, n, i, k);

    State s;
    vf obs[OBS], action[ACT], previous[ACT];
    vf h[H_ ? H_ : MAX_HIDDEN], out[O_ ? O_ : MAX_OUTPUTS];
    sys_reset(&s, p, &st, given, a->options, obs);
    for (int i = 0; i < ACT; i++) previous[i] = a->action_initial[i];
    for (int j = 0; j < H; j++) h[j] = 0.0f;
    for (int j = 0; j < O; j++) out[j] = 0.0f;
    vf health = 0.0f;
    for (int t = 0; t < a->steps; t++) {
        for (int i = 0; i < OBS; i++) health += obs[i];
        if (judge) {
            vf x[I_ ? I_ : MAX_INPUTS], pre[H_ ? H_ : MAX_HIDDEN];
            for (int i = 0; i < OBS; i++) x[i] = obs[i];
            if (a->judge_sees_input)
                for (int i = 0; i < ACT; i++) x[OBS + i] = previous[i];
            for (int j = 0; j < H; j++) {
                const float *r = w_in + j * (I + 1);
                vf acc = r[I];
                for (int i = 0; i < I; i++) acc = vfma(r[i], x[i], acc);
                const float *rec = w_rec + j * H;
                for (int m = 0; m < H; m++) acc = vfma(rec[m], h[m], acc);
                pre[j] = acc;
            }
            for (int j = 0; j < H; j++) h[j] = vsigmoid(pre[j]);
            for (int o = 0; o < O; o++) {
                const float *r = w_out + o * (H + 1);
                vf acc = r[0];
                for (int m = 0; m < H; m++) acc = vfma(r[m + 1], h[m], acc);
                out[o] = vsigmoid(acc);
            }
        }
        if (a->rec_obs)
            for (int i = 0; i < OBS; i++) a->rec_obs[((int64_t)t * OBS + i) * n + k] = obs[i];
        if (a->rec_out && judge)
            for (int o = 0; o < O; o++) a->rec_out[((int64_t)t * O + o) * n + k] = out[o];
        if (t == a->steps - 1) break;
        if (a->inputs_from == 0) {
            for (int i = 0; i < ACT; i++) action[i] = out[1 + i] * a->action_span[i] + a->action_low[i];
        } else if (a->inputs_from == 1) {
            sys_passive((uint32_t)t, obs, p, &s, &st, a->options, pin, action);
        } else {
            for (int i = 0; i < ACT; i++) action[i] = row(a->fixed, n, (int64_t)t * ACT + i, k);
        }
        if (a->rec_act)
            for (int i = 0; i < ACT; i++) a->rec_act[((int64_t)t * ACT + i) * n + k] = action[i];
        sys_step(&s, p, action, &st, (uint32_t)(t + 1), a->options, obs);
        for (int i = 0; i < ACT; i++) previous[i] = action[i];
    }
    a->judgement[k] = judge ? out[0] : 0.0f;
    a->failed[k] = isfinite_mask(health) ? 0 : 1;
}

INLINE void run_one(const TrialArgs *a, int64_t k) {
    if (a->n_weights > 0 && a->hidden == 5) {
        if (a->net_inputs == OBS && a->net_outputs == 1 + ACT) return trial<5, OBS, 1 + ACT>(a, k);
        if (a->net_inputs == OBS && a->net_outputs == 1) return trial<5, OBS, 1>(a, k);
        if (a->net_inputs == OBS + ACT && a->net_outputs == 1) return trial<5, OBS + ACT, 1>(a, k);
    }
    trial<0, 0, 0>(a, k);
}

#ifdef TURING_HOST_CUDA
extern "C" int run_trials(const TrialArgs *a) {
    for (int64_t k = 0; k < a->n; k++) run_one(a, k);
    return 0;
}
extern "C" void kernel_sizes(int32_t *sizes) {
    sizes[0] = OBS;
    sizes[1] = ACT;
    sizes[2] = SIM;
    sizes[3] = START_SIZE;
    sizes[4] = 1;
}
#else
extern "C" __global__ void run_trials(const TrialArgs *a) {
    const int64_t k = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (k < a->n) run_one(a, k);
}
#endif

#endif
