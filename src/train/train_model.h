/* train_model.h — the training-side EXAONE model: configuration (read from a Hugging Face
 * config.json), one flat f32 parameter buffer laid out tensor by tensor with HF names, a forward
 * pass that keeps every activation the backward pass needs, and the backward pass itself.
 * Math follows spec §2 and §4 (exaone4: QK-norm before RoPE, post-attention / post-FFN norms,
 * optional hybrid sliding-window layers without RoPE on the global ones) and §3 (exaone 3.x:
 * classic pre-norm). Owns: parameters, gradients, activations, scratch. */
#ifndef EXA_TRAIN_MODEL_H
#define EXA_TRAIN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "exaone.h"
#include "core/threadpool.h"
#include "train/train_gemm.h"

#define EXA_TM_MAX_LAYERS 256

typedef struct exa_tm_config {
    int arch;               /* EXA_ARCH_EXAONE (3.x) or EXA_ARCH_EXAONE4 */
    int vocab, dim, n_layer, n_head, n_kv, head_dim, ffn, max_pos;
    float rope_theta, eps, init_std;
    int rope_llama3;        /* llama3 frequency scaling */
    float rope_factor, rope_low, rope_high;
    int rope_orig_max;
    int sliding_window;     /* effective window for masks; 0: no layer uses one */
    int window_cfg;         /* config's sliding_window (0: null); RoPE rule 3 depends on it */
    int has_layer_types;    /* config carried layer_types / a sliding pattern */
    unsigned char sliding[EXA_TM_MAX_LAYERS]; /* 1: layer uses sliding-window attention */
    int tie;                /* tie_word_embeddings */
    int bos_id, eos_id, pad_id;
} exa_tm_config;

/* Parses an HF config.json text (exaone or exaone4); keys not about the model are ignored. */
exa_status exa_tm_config_parse(const char *json, const char *path, exa_tm_config *cfg, char *err, size_t errsz);
/* Writes the HF config.json for cfg (exact exaone4 / exaone keys) into a malloc'd string. */
char *exa_tm_config_to_json(const exa_tm_config *cfg, const char *torch_dtype); /* "float32"|"bfloat16" */
/* 1 if layer l applies RoPE (spec §1.2 rule 3; always for 3.x). */
int exa_tm_layer_rope(const exa_tm_config *cfg, int l);

/* One named parameter tensor inside the flat buffer. */
typedef struct exa_tm_tensor {
    char name[128];
    int ndim;
    int64_t shape[2];
    size_t offset, numel;   /* in floats */
    int decay;              /* 1: AdamW weight decay applies (matrices, embeddings); 0: norms */
} exa_tm_tensor;

/* LoRA targets (PEFT names: q_proj k_proj v_proj o_proj gate_proj up_proj down_proj; the exaone
 * 3.x modules out_proj c_fc_0 c_fc_1 c_proj map to o, gate, up, down). */
enum { EXA_LORA_Q, EXA_LORA_K, EXA_LORA_V, EXA_LORA_O, EXA_LORA_GATE, EXA_LORA_UP, EXA_LORA_DOWN, EXA_LORA_NT };
#define EXA_LORA_ALL 0x7fu

typedef struct exa_tm_lora_cfg {
    int r;            /* rank (0: LoRA off) */
    float alpha;      /* scale = alpha / r */
    unsigned targets; /* bit EXA_LORA_* set: adapter on that projection */
} exa_tm_lora_cfg;

/* Per-layer offsets (in floats) into the parameter/gradient buffers. */
typedef struct exa_tm_layer {
    size_t wqkv;  /* q, k, v stacked: ((H+2Hkv)·d, D) */
    size_t wo;    /* (D, H·d) */
    size_t qn, kn;/* (d) exaone4 only */
    size_t n1, n2;/* exaone4: post_attention / post_feedforward (D); exaone: ln_1 / ln_2 */
    size_t wgu;   /* gate, up stacked: (2F, D) */
    size_t wd;    /* (F... ) down: (D, F) */
} exa_tm_layer;

typedef struct exa_tm_model {
    exa_tm_config cfg;
    int B, T;               /* micro-batch shape the activations were sized for */
    exa_tm_tensor *tensors;
    int n_tensors;
    size_t n_params;
    exa_tm_layer layers[EXA_TM_MAX_LAYERS];
    size_t emb, normf, lmh; /* lmh == emb when tied */
    float *params, *grads;  /* [n_params] */
    float *rope_cos, *rope_sin; /* (T, d/2) */
    /* activations (see train_model.c for shapes) */
    float *act;
    size_t act_floats;
    float *res, *qkv, *qkr, *rstd_qk, *att /* (L, B, H, T) row log-sum-exp */, *ao_in, *ao, *rstd1, *h1, *rstd_in2, *a2, *gu, *sw,
        *dn, *rstd2, *a1, *rstd_in1, *hn, *rstd_f, *loss_rows;
    /* scratch for backward */
    float *scr;
    float *d_res, *d_qkv, *d_qkr, *d_ao_in, *d_ao, *d_gu, *d_sw, *d_dn, *logits, *d_att, *part;
    int head_chunk;
    int32_t *tokens, *targets; /* (B, T) of the current micro-batch */
    exa_pool *pool;
    exa_tg_ws ws;
    int nth;
    /* FLOP accounting for one forward+backward micro-batch */
    double flops_fwdbwd;
    double nmat;               /* parameters in matmuls (incl. the head) */
    /* LoRA (exa_tm_lora_enable): base weights frozen (grads == NULL), adapters trainable */
    exa_tm_lora_cfg lora;
    exa_tm_tensor *ltensors;   /* PEFT names: base_model.model.<module>.lora_A/B.weight */
    int n_ltensors;
    size_t n_lparams;
    float *lparams, *lgrads;
    size_t lA[EXA_TM_MAX_LAYERS][EXA_LORA_NT], lB[EXA_TM_MAX_LAYERS][EXA_LORA_NT]; /* offsets or SIZE_MAX */
    float *lu, *lg;            /* saved scale·x·Aᵀ (L, 7, N, r) and backward scratch (N, r) */
} exa_tm_model;

/* Switches m to LoRA fine-tuning: frees the base gradients (base frozen) and allocates adapters
 * A (r, in) and B (out, r) on the chosen projections of every layer. */
exa_status exa_tm_lora_enable(exa_tm_model *m, const exa_tm_lora_cfg *lc, char *err, size_t errsz);
/* PEFT init: A ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming-uniform, a = sqrt 5), B = 0. */
void exa_tm_lora_init_weights(exa_tm_model *m, uint64_t seed);
/* The base tensor a LoRA target of layer l adapts: offset of its rows in params, in/out sizes. */
void exa_tm_lora_target(const exa_tm_model *m, int l, int t, size_t *off, int *in, int *out);
/* Writes merged weights W + (alpha/r)·B·A into dst (n_params floats; other tensors copied). */
void exa_tm_lora_merge(const exa_tm_model *m, float *dst);
/* Loads weights of a Hugging Face folder (model.safetensors or model.safetensors.index.json;
 * F32/BF16/F16) into m->params; names and shapes must match m's table. */
exa_status exa_tm_load_hf(exa_tm_model *m, const char *dir, char *err, size_t errsz);

/* Builds the tensor table and allocates everything for micro-batches of B sequences of T tokens. */
exa_status exa_tm_model_init(exa_tm_model *m, const exa_tm_config *cfg, int B, int T, exa_pool *pool,
                             char *err, size_t errsz);
void exa_tm_model_free(exa_tm_model *m);
/* Random init (HF style: N(0, init_std) for matrices/embeddings, 1 for norm weights), seeded. */
void exa_tm_model_init_weights(exa_tm_model *m, uint64_t seed);
const exa_tm_tensor *exa_tm_find(const exa_tm_model *m, const char *name);

/* Forward on m->tokens/m->targets (B·T each); returns the mean cross-entropy. If grad_scale > 0 the
 * backward pass runs too and ADDS grad_scale · d(sum of per-token losses)/dθ into m->grads
 * (pass 1/(B·T·accum) for a mean over the accumulated batch). */
double exa_tm_step(exa_tm_model *m, float grad_scale);

/* splitmix64-seeded xoshiro256** generator (state saved in checkpoints) */
typedef struct exa_trng { uint64_t s[4]; } exa_trng;
void exa_trng_seed(exa_trng *r, uint64_t seed);
uint64_t exa_trng_next(exa_trng *r);
double exa_trng_uniform(exa_trng *r);  /* [0,1) */
double exa_trng_normal(exa_trng *r);

#endif
