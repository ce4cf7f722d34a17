/* server.h — the OpenAI-compatible HTTP server as a library object (used by `exaone serve`):
 * start it on a model folder, it serves until exa_server_shutdown, which stops accepting
 * connections, lets in-flight requests finish and frees everything. See docs/server.md. */
#ifndef EXA_SERVER_H
#define EXA_SERVER_H

#include <stddef.h>

#include "exaone.h"

typedef struct exa_server exa_server;

typedef struct exa_server_params {
    const char *model_dir;
    const char *model_name;   /* id shown in /v1/models and responses (default: folder name) */
    const char *host;         /* default "127.0.0.1" */
    int port;                 /* default 8080; 0 picks a free port (see exa_server_port) */
    const char *api_key;      /* NULL: no authentication */
    int n_parallel;           /* sequences decoded together (slots, default 4) */
    int n_ctx;                /* positions per slot (default min(model max, 4096)) */
    int n_batch;              /* max tokens per forward step (default 512) */
    int prefill_chunk;        /* max prompt tokens per step while others generate (default 128) */
    int n_threads;            /* 0: all cores */
    int max_queue;            /* waiting requests beyond the slots before 429 (default 64) */
    size_t max_body;          /* request body limit in bytes (default 8 MiB) */
    int max_connections;      /* open HTTP connections (default 512) */
    exa_quant_type quant;     /* convert weights at load (EXA_QUANT_NONE: as stored) */
    exa_kv_type kv_type;      /* KV cache element type (default f16) */
    const char *lora_dir;     /* PEFT LoRA adapter merged at load (NULL: none) */
    const char *const *indexes; /* document indexes as "NAME=PATH" (requests name them); may be NULL */
    int n_indexes;
} exa_server_params;

exa_server_params exa_server_default_params(void);
/* Loads the model, tokenizer and chat template, starts the scheduler and the listener. */
exa_status exa_server_start(const exa_server_params *p, exa_server **out, char *err, size_t err_size);
int exa_server_port(const exa_server *s);
/* Stops accepting, waits up to drain_seconds for in-flight requests (cancels the rest), frees. */
void exa_server_shutdown(exa_server *s, double drain_seconds);

#endif
