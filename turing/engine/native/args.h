/* What a batch of trials hands the trial loop: the same struct on CPU threads (driver.h) and
 * on CUDA (driver.cuh), filled by turing/engine/native/backend.py through ctypes. Pointers
 * are 64-bit and every field is aligned to its size, so the layout is the same everywhere. */
#ifndef TURING_ARGS_H
#define TURING_ARGS_H

enum { FROM_JUDGE = 0, FROM_PASSIVE = 1, FROM_FIXED = 2 };

typedef struct {
    int64_t n;
    int32_t steps;
    int32_t inputs_from;
    int32_t judge_sees_input;
    int32_t hidden, net_inputs, net_outputs, n_weights; /* n_weights 0: no judge */
    int32_t threads;
    int32_t pad_;
    int64_t key_stride; /* 1: a key per trial; 0: one key for all */
    const float *params;       /* [SIM, n] */
    const uint32_t *key;       /* [2, n] or [2, 1] */
    const uint32_t *stream;    /* [n] */
    const uint32_t *start_stream;
    const uint32_t *input_stream;
    const float *weights;      /* [P, n_weights] */
    const int32_t *interrogator; /* [n] */
    const float *fixed;        /* [steps - 1, ACT, n] */
    const float *start;        /* [START_SIZE, n] or NULL: drawn from the start streams */
    const float *options;      /* the system's constants */
    const float *action_low;   /* [ACT]: an output o in [0, 1] becomes low + o * span */
    const float *action_span;  /* [ACT] */
    const float *action_initial; /* [ACT]: the input a passive-io judge sees at step 0 */
    const float *pin;          /* [PIN_SIZE, n]: passive inputs drawn beforehand, or NULL */
    float *judgement;          /* [n] */
    uint8_t *failed;           /* [n] */
    float *rec_obs;            /* [steps, OBS, n] or NULL */
    float *rec_out;            /* [steps, net_outputs, n] or NULL */
    float *rec_act;            /* [steps - 1, ACT, n] or NULL */
} TrialArgs;

#endif
