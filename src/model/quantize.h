/* quantize.h — weight-format conversion shared by the loader (`--quant` at load) and the GGUF
 * exporter (`exaone quantize`): which dtype each matrix gets under a quant type (llama.cpp's
 * choices for the Q4_K_M mix) and the threaded matrix conversion itself. */
#ifndef EXA_MODEL_QUANTIZE_H
#define EXA_MODEL_QUANTIZE_H

#include "core/common.h"
#include "core/threadpool.h"
#include "kernels/kernels.h"

typedef enum exa_qrole {
    EXA_QROLE_EMBD,     /* token embedding table */
    EXA_QROLE_OUTPUT,   /* lm_head / output.weight (or the tied embedding that serves as it) */
    EXA_QROLE_ATTN_V,
    EXA_QROLE_FFN_DOWN,
    EXA_QROLE_OTHER,    /* q, k, o, gate, up */
} exa_qrole;

/* The dtype a matrix of `cols` columns gets under q (stored: its dtype now). Block formats need
 * cols to be a multiple of their block: k-quants fall back to Q8_0 (llama.cpp would use
 * Q5_0/Q5_1/Q8_0, which we do not implement), Q8_0/Q4_0 fall back to the stored dtype.
 * REF: llama.cpp src/llama-quant.cpp llama_tensor_get_type (output → Q6_K, use_more_bits). */
exa_dtype exa_quant_pick(exa_quant_type q, exa_qrole role, int layer, int n_layer, int tied, int64_t cols,
                         exa_dtype stored);

/* Converts a (rows, cols) matrix of any dtype to dst, rows split over pool (NULL: this thread),
 * into a new buffer (exa_aligned_alloc, free() it) of rows × exa_dtype_row_bytes(dst, cols). */
exa_status exa_mat_convert(exa_pool *pool, const exa_mat *src, exa_dtype dst, void **out);

#endif
