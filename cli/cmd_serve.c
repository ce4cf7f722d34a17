/* cmd_serve.c — `exaone serve`: runs the OpenAI-compatible HTTP server (src/server/) until
 * SIGTERM/SIGINT, then stops accepting, lets in-flight requests finish (--drain seconds) and
 * exits 0. Signals are blocked in every thread and taken with sigwait() here. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "server/server.h"

static void usage(void) {
    printf("usage: exaone serve -m DIR [options]\n"
           "  --host H          address to listen on (default 127.0.0.1)\n"
           "  --port P          TCP port (default 8080; 0 picks a free one)\n"
           "  --api-key KEY     require 'Authorization: Bearer KEY' on /v1/*, /tokenize, /detokenize\n"
           "  --parallel N      requests decoded together, one KV sequence each (default 4)\n"
           "  --ctx N           context positions per request (default min(model max, 4096))\n"
           "  --batch N         max tokens per forward step (default 512)\n"
           "  --prefill-chunk N max prompt tokens per step while other requests generate (default 128)\n"
           "  --queue N         waiting requests beyond the slots before 429 (default 64)\n"
           "  --max-body BYTES  request body limit (default 8388608)\n"
           "  --name NAME       model id in responses and /v1/models (default: folder name)\n"
           "  --drain S         seconds to let in-flight requests finish on SIGTERM (default 30)\n"
           "  -t N              threads (default: all cores)\n"
           "  --quant TYPE      convert weights at load (q8, q4, q4_K, q6_K, ...; see docs/quant.md)\n"
           "  --kv-type T       KV cache type: f16 (default), f32 (exact), bf16, q8_0\n"
           "  --lora DIR        merge a PEFT LoRA adapter (exaone finetune output) at load\n"
           "  --index NAME=DB   a document index (exaone index add) that requests can name: chat\n"
           "                    completions with \"index\": NAME answer from it with citations;\n"
           "                    POST /v1/retrieve {\"index\", \"query\", \"k\"} returns passages (repeatable)\n"
           "endpoints: POST /v1/chat/completions, /v1/completions, /v1/retrieve, /tokenize, /detokenize;\n"
           "           GET /v1/models, /health, /metrics (see docs/server.md)\n");
}

int exa_cmd_serve(int argc, char **argv) {
    exa_server_params p = exa_server_default_params();
    if (exa_cli_take_quant(&argc, argv)) return 1; /* --quant TYPE: convert weights at load */
    long port = 8080, par = 4, ctx = 0, batch = 512, chunk = 128, queue = 64, body = 8 << 20, threads = 0;
    double drain = 30;
    const char *indexes[32];
    int n_indexes = 0;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(); return 0; }
        else if (!v) return exa_cli_fail("serve: option '%s' needs a value (see exaone serve --help)", a);
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) p.model_dir = v;
        else if (!strcmp(a, "--host")) p.host = v;
        else if (!strcmp(a, "--port")) r = exa_cli_int(a, v, 0, 65535, &port);
        else if (!strcmp(a, "--api-key")) p.api_key = v;
        else if (!strcmp(a, "--parallel") || !strcmp(a, "-np")) r = exa_cli_int(a, v, 1, 256, &par);
        else if (!strcmp(a, "--ctx")) r = exa_cli_int(a, v, 16, 1 << 24, &ctx);
        else if (!strcmp(a, "--batch")) r = exa_cli_int(a, v, 1, 1 << 16, &batch);
        else if (!strcmp(a, "--prefill-chunk")) r = exa_cli_int(a, v, 1, 1 << 16, &chunk);
        else if (!strcmp(a, "--queue")) r = exa_cli_int(a, v, 1, 1 << 20, &queue);
        else if (!strcmp(a, "--max-body")) r = exa_cli_int(a, v, 1024, 1L << 30, &body);
        else if (!strcmp(a, "--name")) p.model_name = v;
        else if (!strcmp(a, "--lora")) p.lora_dir = v;
        else if (!strcmp(a, "--index")) {
            if (n_indexes == 32) return exa_cli_fail("serve: at most 32 --index");
            indexes[n_indexes++] = v;
        }
        else if (!strcmp(a, "--drain")) r = exa_cli_float(a, v, &drain);
        else if (!strcmp(a, "-t")) r = exa_cli_int(a, v, 1, 1024, &threads);
        else return exa_cli_fail("serve: unknown option '%s' (see exaone serve --help)", a);
        if (r) return 1;
    }
    if (!p.model_dir) return exa_cli_fail("serve: -m DIR is required");
    p.port = (int)port; p.n_parallel = (int)par; p.n_ctx = (int)ctx; p.n_batch = (int)batch; p.prefill_chunk = (int)chunk;
    p.max_queue = (int)queue; p.max_body = (size_t)body; p.n_threads = (int)threads;
    p.indexes = indexes; p.n_indexes = n_indexes;
    p.quant = exa_cli_quant();
    p.kv_type = exa_cli_kv_type();

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);   /* inherited by every thread started below */
    signal(SIGPIPE, SIG_IGN);

    char err[512];
    exa_server *s = NULL;
    if (exa_server_start(&p, &s, err, sizeof err) != EXA_OK) return exa_cli_fail("serve: %s", err);
    fprintf(stderr, "exaone: serving %s on http://%s:%d (parallel %ld, batch %ld)\n", p.model_dir, p.host,
            exa_server_port(s), par, batch);
    fflush(stderr);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "exaone: %s received, finishing in-flight requests (up to %.0f s)\n", sig == SIGTERM ? "SIGTERM" : "SIGINT", drain);
    exa_server_shutdown(s, drain);
    fprintf(stderr, "exaone: stopped\n");
    return 0;
}
