/* lora_apply.h — PEFT LoRA adapters at inference: reads an adapter folder (adapter_config.json +
 * adapter_model.safetensors, tensors base_model.model.<module>.lora_A.weight (r, in) and
 * .lora_B.weight (out, r)), validates it against a model, and merges W' = W + (alpha/r)·B·A
 * (alpha/sqrt(r) with use_rslora) into owned copies in W's dtype. Used by exa_model_load
 * (exa_model_params.lora_dir) and `exaone lora merge`, which therefore produce identical weights. */
#ifndef EXA_MODEL_LORA_APPLY_H
#define EXA_MODEL_LORA_APPLY_H

#include "core/common.h"
#include "core/tensor.h"

typedef struct exa_lora exa_lora;
struct exa_model;

/* dir: an adapter folder, or an `exaone finetune`/`train` output folder (its `latest` checkpoint). */
exa_status exa_lora_open(const char *dir, exa_lora **out, char *err, size_t err_size);
void exa_lora_close(exa_lora *a);
/* The merged copy of base tensor `name` (HF name ending in ".weight", shape rows × cols, dtype dt)
 * in *out (exa_aligned_alloc'd, caller frees), or *out = NULL if the adapter does not target it.
 * Shape mismatches are errors naming the adapter file and tensor. */
exa_status exa_lora_merge_tensor(exa_lora *a, const char *name, exa_dtype dt, const void *w, int64_t rows, int64_t cols,
                                 void **out, char *err, size_t err_size);
/* Error unless every adapter module was merged by exa_lora_merge_tensor (names that match no
 * tensor of the model, e.g. a 3.x adapter on a 4.0 model, or a layer beyond the model). */
exa_status exa_lora_check_all_used(const exa_lora *a, char *err, size_t err_size);
/* Applies the adapter in dir to a loaded model (targeted matrices become owned copies). */
exa_status exa_lora_apply_model(struct exa_model *m, const char *dir, char *err, size_t err_size);

#endif
