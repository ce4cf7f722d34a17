/* cli.h — shared pieces of the `exaone` command-line tool: the subcommand table entry type and
 * small argument helpers. Each subcommand lives in cli/cmd_<name>.c and is listed in main.c. */
#ifndef EXA_CLI_H
#define EXA_CLI_H

#include <stdint.h>

#include "exaone.h"

typedef struct exa_cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} exa_cli_command;

/* Parses "1,2,3" (or space separated) into a malloc'd array; returns count or -1 with a message. */
int exa_cli_parse_tokens(const char *s, int32_t **out);
/* Strict integer / float parsing of option values; exit-free: return 0 on success. */
int exa_cli_int(const char *opt, const char *s, long lo, long hi, long *out);
int exa_cli_float(const char *opt, const char *s, double *out);
/* prints "exaone: <msg>" to stderr and returns 1 (the CLI exit code for errors) */
int exa_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Removes the shared model options `--quant TYPE` and `--kv-type f16|f32|bf16|q8_0` from argv
 * (any position; argc updated) and remembers them for exa_cli_load_model and
 * exa_cli_context_params. Model-loading commands call it first. 0, or -1 after printing why. */
int exa_cli_take_quant(int *argc, char **argv);
exa_quant_type exa_cli_quant(void); /* the type taken (EXA_QUANT_NONE if none) */
exa_kv_type exa_cli_kv_type(void);  /* the KV cache type taken (EXA_KV_F16 if none) */
/* exa_context_default_params() with the --kv-type taken */
exa_context_params exa_cli_context_params(void);
/* Loads a model folder or GGUF (converted to the --quant type if one was given), printing a one-line error (naming the file and the problem) on failure.
 * Returns NULL on failure. */
exa_model *exa_cli_load_model(const char *dir);
/* ---- lora ---- */
/* `--lora DIR` of generate/chat/logits: a PEFT adapter exa_cli_load_model merges in (NULL: none) */
extern const char *exa_cli_lora_dir;
/* ---- end lora ---- */
/* reads a whole file into a malloc'd NUL-terminated buffer; 0 on success (else prints why) */
int exa_cli_read_file(const char *path, char **out);
/* tokenizes text with the folder's tokenizer (rendered as a chat user turn when chat != 0);
 * on success *tok is the loaded tokenizer (caller frees) and *ids a malloc'd array */
int exa_cli_text_prompt(const char *dir, const char *text, int chat, const char *system, int think, exa_tokenizer **tok,
                        int32_t **ids, int *n_ids);
/* copies src to dst: 1 copied, 0 src does not exist, -1 error */
int exa_cli_copy_file(const char *src, const char *dst);
/* mkdir -p; returns 0 on success */
int exa_cli_mkdir_p(const char *path);

#endif
