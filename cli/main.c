/* main.c — entry point of the `exaone` tool: dispatches to the subcommands listed below.
 * To add a subcommand: write cli/cmd_<name>.c with `int exa_cmd_<name>(int, char **)`,
 * declare it here and add a row to the table. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int exa_cmd_info(int argc, char **argv);
int exa_cmd_generate(int argc, char **argv);
int exa_cmd_logits(int argc, char **argv);
int exa_cmd_random_model(int argc, char **argv);
int exa_cmd_bench(int argc, char **argv);
int exa_cmd_data(int argc, char **argv);
int exa_cmd_tokenize(int argc, char **argv);
int exa_cmd_tokenizer_train(int argc, char **argv);
int exa_cmd_template(int argc, char **argv); /* chat */
int exa_cmd_chat(int argc, char **argv);     /* chat */
int exa_cmd_index(int argc, char **argv); /* retrieval */
int exa_cmd_ask(int argc, char **argv);
/* ---- train ---- */
int exa_cmd_train(int argc, char **argv);
int exa_cmd_finetune(int argc, char **argv);
int exa_cmd_lora(int argc, char **argv);
/* ---- end train ---- */
int exa_cmd_serve(int argc, char **argv);   /* ---- server ---- */
int exa_cmd_quantize(int argc, char **argv);   /* quant */
int exa_cmd_perplexity(int argc, char **argv); /* quant */

static const exa_cli_command commands[] = {
    {"info", "show a model's architecture, size and load time", exa_cmd_info},
    {"generate", "generate a continuation of a prompt", exa_cmd_generate},
    {"logits", "write the logits of every position of a token sequence (for verification)", exa_cmd_logits},
    {"bench", "measure prompt and decode speed against this machine's bandwidth and FLOP/s", exa_cmd_bench},
    {"data", "prepare token shards for training from text corpora (data prepare ...)", exa_cmd_data},
    {"random-model", "write a random-weight model folder in the exact shape of a real EXAONE model", exa_cmd_random_model},
    {"serve", "OpenAI-compatible HTTP server with continuous batching (docs/server.md)", exa_cmd_serve},
    {"tokenize", "print the token ids (or pieces) of a text; --decode for ids to text", exa_cmd_tokenize},
    {"tokenizer-train", "train a byte-level BPE tokenizer (HF tokenizer.json) on text files", exa_cmd_tokenizer_train},
    {"chat", "interactive multi-turn chat with a model (streaming, reasoning, /commands)", exa_cmd_chat},
    {"template", "render a conversation with a model's chat template (prints the exact prompt)", exa_cmd_template},
    {"ask", "answer a question from an indexed document collection, with citations", exa_cmd_ask},
    {"index", "build and search a document index (.txt .md .html .pdf; Korean-aware BM25)", exa_cmd_index}, /* retrieval */
    /* ---- train ---- */
    {"train", "train an EXAONE-architecture model from scratch on token shards", exa_cmd_train},
    {"finetune", "fine-tune a model (LoRA or full) on chat JSONL, loss on assistant turns only", exa_cmd_finetune},
    {"lora", "LoRA adapter tools (lora merge: bake a PEFT adapter into a model folder)", exa_cmd_lora},
    /* ---- end train ---- */
    {"quantize", "write a model as GGUF (llama.cpp-compatible) in q8_0/q4_0/q4_K/q4_K_M/q6_K/f16/bf16/f32", exa_cmd_quantize}, /* quant */
    {"perplexity", "perplexity of a model on a text file; --compare-to REF: KL divergence and top-1 agreement", exa_cmd_perplexity}, /* quant */
};

static void usage(FILE *f) {
    fprintf(f, "usage: exaone <command> [options]   (exaone <command> --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-16s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "exaone: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 1;
}
