/* cmd_tokenize.c — `exaone tokenize`: prints the token ids (or token strings) of a text with a
 * model folder's tokenizer, one line, separated by spaces; --decode goes the other way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: exaone tokenize -m DIR (-p TEXT | -f FILE) [--pieces] [--special] [--pretok gpt2|digits]\n"
            "       exaone tokenize -m DIR --decode \"IDS\" [--skip-special]\n"
            "  -m DIR        model folder (tokenizer.json, or vocab.json + merges.txt + tokenizer_config.json)\n"
            "                or a .gguf (its tokenizer.ggml.* metadata, else the files next to it)\n"
            "  -p TEXT       text to tokenize      -f FILE   read the text from FILE ('-' = stdin)\n"
            "  --pieces      print token strings (HF form, e.g. Ġworld) instead of ids\n"
            "  --special     add the special tokens the tokenizer's config asks for (none for EXAONE)\n"
            "  --count       print only the number of tokens\n"
            "  --pretok      pre-tokenizer when there is no tokenizer.json (default: from the vocabulary;\n"
            "                for a .gguf it overrides tokenizer.ggml.pre)\n"
            "  --decode IDS  print the text of a list of ids;  --skip-special drops special tokens\n");
}

static char *read_all(const char *path, size_t *n) {
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *b = malloc(cap);
    while (b) {
        if (len == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) { free(b); b = NULL; break; }
            b = nb;
        }
        size_t r = fread(b + len, 1, cap - len, f);
        if (!r) break;
        len += r;
    }
    if (f != stdin) fclose(f);
    *n = len;
    return b;
}

int exa_cmd_tokenize(int argc, char **argv) {
    const char *dir = NULL, *text = NULL, *file = NULL, *decode = NULL;
    int pieces = 0, special = 0, count = 0, skip = 0;
    exa_pretok pretok = EXA_PRETOK_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "-m") && more) dir = argv[++i];
        else if (!strcmp(a, "-p") && more) text = argv[++i];
        else if (!strcmp(a, "-f") && more) file = argv[++i];
        else if (!strcmp(a, "--decode") && more) decode = argv[++i];
        else if (!strcmp(a, "--pieces")) pieces = 1;
        else if (!strcmp(a, "--special")) special = 1;
        else if (!strcmp(a, "--count")) count = 1;
        else if (!strcmp(a, "--skip-special")) skip = 1;
        else if (!strcmp(a, "--pretok") && more) {
            const char *v = argv[++i];
            if (!strcmp(v, "gpt2")) pretok = EXA_PRETOK_GPT2;
            else if (!strcmp(v, "digits")) pretok = EXA_PRETOK_DIGITS_GPT2;
            else return exa_cli_fail("--pretok: expected gpt2 or digits, got '%s'", v);
        } else {
            usage(stderr);
            return exa_cli_fail("tokenize: unknown or incomplete option '%s'", a);
        }
    }
    if (!dir || (!text && !file && !decode) || (text && file)) {
        usage(stderr);
        return 1;
    }
    char err[512];
    exa_tokenizer *tok;
    if (exa_tokenizer_load_ex(dir, pretok, &tok, err, sizeof err) != EXA_OK) return exa_cli_fail("%s", err);
    int rc = 0;
    if (decode) {
        int32_t *ids;
        int n = exa_cli_parse_tokens(decode, &ids);
        if (n < 0) { exa_tokenizer_free(tok); return 1; }
        char *s;
        size_t len;
        if (exa_tokenizer_decode_alloc(tok, ids, (size_t)n, skip, &s, &len) != EXA_OK) rc = exa_cli_fail("decode failed");
        else {
            fwrite(s, 1, len, stdout);
            fputc('\n', stdout);
            free(s);
        }
        free(ids);
        exa_tokenizer_free(tok);
        return rc;
    }
    size_t len = 0;
    char *buf = NULL;
    if (file) {
        buf = read_all(file, &len);
        if (!buf) { exa_tokenizer_free(tok); return exa_cli_fail("%s: cannot read", file); }
        text = buf;
    } else {
        len = strlen(text);
    }
    int32_t *ids;
    size_t n;
    exa_status st = exa_tokenizer_encode_alloc(tok, text, len, special, &ids, &n);
    if (st != EXA_OK) rc = exa_cli_fail("tokenize: %s", exa_status_str(st));
    else {
        if (count) printf("%zu\n", n);
        else {
            for (size_t i = 0; i < n; i++) {
                if (i) fputc(' ', stdout);
                if (pieces) fputs(exa_tokenizer_token_text(tok, ids[i]), stdout);
                else printf("%d", ids[i]);
            }
            fputc('\n', stdout);
        }
        free(ids);
    }
    free(buf);
    exa_tokenizer_free(tok);
    return rc;
}
