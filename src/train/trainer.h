/* trainer.h — `exaone train`: from-scratch training of an EXAONE-architecture model on token
 * shards with AdamW, warm-up + cosine schedule, gradient accumulation and clipping, validation,
 * loss CSV/PNG, and atomic Hugging Face checkpoint folders that can be resumed bit-exactly.
 * The library never prints: progress goes to a callback. */
#ifndef EXA_TRAINER_H
#define EXA_TRAINER_H

#include <stdint.h>

#include "exaone.h"

typedef struct exa_train_hparams {
    int batch_size, seq_len, grad_accum;
    double lr, min_lr;
    int warmup_steps, total_steps;
    double weight_decay, grad_clip, beta1, beta2, adam_eps;
    int eval_interval, eval_batches, checkpoint_interval;
    int keep_checkpoints; /* > 0: delete all but the newest N step folders */
    uint64_t seed;
    int save_bf16;      /* "save_dtype": "bfloat16" (master weights then also go into trainer_state) */
    int threads;        /* 0: all CPUs */
    int lora_r;         /* "lora": {"r": 8, "alpha": 16, "targets": [...]}; 0: full training */
    double lora_alpha;
    unsigned lora_targets;
} exa_train_hparams;

/* Defaults, then the "train" object of a config.json (unknown keys are an error). */
void exa_train_hparams_default(exa_train_hparams *hp);
exa_status exa_train_hparams_parse(const char *json, const char *path, exa_train_hparams *hp, char *err, size_t errsz);

/* Learning rate for 0-based step: linear warm-up to lr over warmup_steps, then cosine to min_lr. */
double exa_train_lr(const exa_train_hparams *hp, int step);

typedef struct exa_train_progress {
    int step, total_steps;   /* steps done so far */
    double loss, lr, grad_norm;
    double val_loss;         /* NaN unless is_eval */
    int is_eval;
    double tok_per_s, eta_s, elapsed_s, mfu_flops; /* mfu_flops: model FLOP/s */
    const char *checkpoint;  /* non-NULL right after a checkpoint folder was written */
    int resumed_from;        /* on the first callback of a resumed run: the step resumed from, else -1 */
} exa_train_progress;

typedef int (*exa_train_cb)(const exa_train_progress *p, void *user); /* return 0 to stop */

typedef struct exa_train_opts {
    const char *config_path; /* HF config.json keys + a "train" object */
    const char *data;        /* train shards: glob, file or folder */
    const char *val;         /* validation shards (NULL: *val*.bin in the data folder, if any) */
    const char *out_dir;
    const char *tokenizer_dir; /* optional: tokenizer.json etc. copied into every checkpoint */
    const char *base_dir;    /* optional: start from this HF model folder (its config.json is the model) */
    int resume;
    int threads;             /* overrides hparams.threads when > 0 */
    int stop_after;          /* > 0: stop once this many steps are done (no checkpoint unless due) */
    exa_train_cb cb;
    void *user;
} exa_train_opts;

exa_status exa_train_run(const exa_train_opts *o, char *err, size_t errsz);

#endif
