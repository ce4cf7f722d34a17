/* fuzz_chat_parser.c — fuzzes the streaming chat output parser: byte 0 picks the kind, whether
 * the prompt opened reasoning and a user stop string; byte 1 seeds the chunk sizes. The rest is
 * fed in chunks (splitting UTF-8 characters, tags and stop strings anywhere) and must give exactly
 * the same reasoning / answer / tool calls as one whole-text parse, with valid UTF-8 deltas. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exaone.h"

static int valid_utf8(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t l = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!l || i + l > n) return 0;
        for (size_t k = 1; k < l; k++)
            if (((unsigned char)s[i + k] & 0xC0) != 0x80) return 0;
        i += l;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    static const exa_chat_kind kinds[] = {EXA_CHAT_EXAONE3, EXA_CHAT_DEEP, EXA_CHAT_EXAONE4, EXA_CHAT_EXAONE4};
    exa_chat_parser_params pp = exa_chat_parser_default_params(kinds[data[0] & 3]);
    pp.reasoning_open = (data[0] >> 2) & 1;
    const char *stops[] = {"</s>"};
    if ((data[0] >> 3) & 1) { pp.stop = stops; pp.n_stop = 1; }
    unsigned seed = data[1] | 1u;
    const char *text = (const char *)data + 2;
    size_t n = size - 2;

    exa_chat_parsed whole;
    if (exa_chat_parse(&pp, text, n, &whole) != EXA_OK) return 0;

    exa_chat_parser *p;
    if (exa_chat_parser_init(&pp, &p) != EXA_OK) { exa_chat_parsed_free(&whole); return 0; }
    char *r = malloc(n * 3 + 16), *c = malloc(n * 3 + 16);
    size_t rn = 0, cn = 0, at = 0;
    int calls = 0;
    exa_chat_delta d;
    while (r && c) {
        seed = seed * 1103515245u + 12345u;
        size_t step = 1 + (seed >> 16) % 9;
        int last = at >= n;
        if (last) exa_chat_parser_finish(p, &d);
        else {
            if (step > n - at) step = n - at;
            exa_chat_parser_feed(p, text + at, step, &d);
            at += step;
        }
        if (!valid_utf8(d.reasoning, d.reasoning_len) || !valid_utf8(d.content, d.content_len)) abort();
        memcpy(r + rn, d.reasoning, d.reasoning_len);
        rn += d.reasoning_len;
        memcpy(c + cn, d.content, d.content_len);
        cn += d.content_len;
        calls += d.n_tool_calls;
        if (last) break;
    }
    if (r && c) {
        if (rn != strlen(whole.reasoning) || memcmp(r, whole.reasoning, rn)) abort();
        if (cn != strlen(whole.content) || memcmp(c, whole.content, cn)) abort();
        if (calls != whole.n_tool_calls || strcmp(exa_chat_parser_tool_calls(p), whole.tool_calls_json)) abort();
    }
    free(r);
    free(c);
    exa_chat_parser_free(p);
    exa_chat_parsed_free(&whole);
    return 0;
}
