/* model.h — internal model representation shared by the loader and the forward pass:
 * hyper-parameters parsed from config.json, and weights as matrices pointing into mapped
 * safetensors files (never copied for f32/bf16/f16) plus small f32 norm vectors owned here. */
#ifndef EXA_MODEL_MODEL_H
#define EXA_MODEL_MODEL_H

#include <stdint.h>

#include "core/common.h"
#include "kernels/kernels.h"

#define EXA_MAX_LAYERS 1024

typedef enum exa_rope_type { EXA_ROPE_DEFAULT = 0, EXA_ROPE_LLAMA3 = 1 } exa_rope_type;

typedef struct exa_hparams {
    exa_arch arch;
    int n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx_train;
    float norm_eps;
    float rope_theta;
    exa_rope_type rope_type;
    float rope_factor, rope_low_freq, rope_high_freq; /* llama3 scaling (spec §2.3) */
    float rope_orig_ctx;
    const float *rope_freq_factors;       /* (d/2) or NULL: GGUF rope_freqs.weight, inv_freq[i] /= f[i] */
    int sliding_window;                   /* 0: none */
    uint8_t layer_sliding[EXA_MAX_LAYERS]; /* 1: local sliding-window layer */
    uint8_t layer_rope[EXA_MAX_LAYERS];    /* 1: layer applies RoPE (spec §1.2 rule 3) */
    int tied;
    int bos_id, eos_id, pad_id;
} exa_hparams;

/* Parses config.json text (path only for messages). REF: spec §1.2. */
exa_status exa_config_parse(const char *json, size_t len, const char *path, exa_hparams *hp, char *err,
                            size_t err_size);

/* RoPE inverse frequencies (d/2 floats) exactly as HF computes them in fp32. REF: spec §2.2–2.3 */
void exa_rope_inv_freq(const exa_hparams *hp, float *inv_freq);

typedef struct exa_layer {
    exa_mat wq, wk, wv, wo;   /* (H·d, D) (Hkv·d, D) (Hkv·d, D) (D, H·d) */
    exa_mat gate, up, down;   /* (F, D) (F, D) (D, F) */
    float *ln1, *ln2;         /* exaone: (D) pre-attention / pre-MLP norms */
    float *q_norm, *k_norm;   /* exaone4: (d) per-head QK norms */
    float *post_attn, *post_ffn; /* exaone4: (D) post-branch norms */
} exa_layer;

/* The matrices of a layer in one fixed order — wq wk wv wo gate up down — for code that treats
 * them all alike (quantization at load, LoRA merging, repacking). */
#define EXA_LAYER_MATS 7
static inline exa_mat *exa_layer_mat(exa_layer *ly, int k) {
    exa_mat *const all[EXA_LAYER_MATS] = {&ly->wq, &ly->wk, &ly->wv, &ly->wo, &ly->gate, &ly->up, &ly->down};
    return all[k];
}

struct exa_model {
    exa_hparams hp;
    exa_mat tok_emb;          /* (V, D) */
    exa_mat lm_head;          /* (V, D); = tok_emb when tied */
    float *norm_final;        /* (D) */
    exa_layer *layers;        /* (L) */
    struct exa_st_file **files;
    int n_files;
    struct exa_gguf *gguf;    /* when loaded from GGUF (instead of files) */
    float *rope_factors;      /* owned copy behind hp.rope_freq_factors */
    float *f32_pool;          /* backing store of all norm vectors */
    void **owned;             /* aligned copies of tensors that were misaligned in their file */
    int n_owned;
    int64_t n_params;
    int64_t weight_bytes;
    int64_t repacked_bytes;   /* row-interleaved copies made at load (kernels/quant_x16.h) */
    exa_dtype main_dtype;     /* dtype of the FFN matrices (the bulk of the weights) */
    double load_seconds;
};

#endif
