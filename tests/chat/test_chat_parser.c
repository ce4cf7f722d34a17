/* test_chat_parser.c — output-parser tests: reasoning split (4.0 <think>, Deep <thought>,
 * prompt-opened or not), tool calls (valid, several, Korean arguments, malformed -> answer text,
 * unterminated), stop strings split across chunks, Hangul split byte by byte, invalid UTF-8,
 * and equality of streaming (random splits) with whole-text parsing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "exaone.h"

static int fails = 0;
#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);             \
            fprintf(stderr, __VA_ARGS__);                                    \
            fprintf(stderr, "\n");                                           \
            fails++;                                                         \
        }                                                                    \
    } while (0)

static void check_str(const char *what, const char *got, const char *want, int line) {
    if (strcmp(got, want)) {
        fprintf(stderr, "FAIL line %d: %s\n  got:  [%s]\n  want: [%s]\n", line, what, got, want);
        fails++;
    }
}
#define EQ(what, got, want) check_str(what, got, want, __LINE__)

/* Whole-text parse. */
static exa_chat_parsed parse(exa_chat_kind kind, int open, const char *text, const char *stop) {
    exa_chat_parser_params pp = exa_chat_parser_default_params(kind);
    pp.reasoning_open = open;
    const char *stops[1] = {stop};
    if (stop) { pp.stop = stops; pp.n_stop = 1; }
    exa_chat_parsed r;
    exa_status st = exa_chat_parse(&pp, text, strlen(text), &r);
    CHECK(st == EXA_OK, "parse failed");
    return r;
}

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

typedef struct streamed {
    char reasoning[8192], content[8192];
    size_t rn, cn;
    int calls, stopped, bad_utf8;
} streamed;

/* Streams text split at the given cut points; collects the deltas. */
static void stream(exa_chat_kind kind, int open, const char *text, const char *stop, const size_t *cuts, int ncuts,
                   streamed *out, exa_chat_parser **keep) {
    memset(out, 0, sizeof *out);
    exa_chat_parser_params pp = exa_chat_parser_default_params(kind);
    pp.reasoning_open = open;
    const char *stops[1] = {stop};
    if (stop) { pp.stop = stops; pp.n_stop = 1; }
    exa_chat_parser *p;
    CHECK(exa_chat_parser_init(&pp, &p) == EXA_OK, "init");
    size_t at = 0, n = strlen(text);
    exa_chat_delta d;
    for (int i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : n;
        if (to < at) to = at;
        if (i == ncuts + 1) break;
        CHECK(exa_chat_parser_feed(p, text + at, to - at, &d) == EXA_OK, "feed");
        if (!valid_utf8(d.reasoning, d.reasoning_len) || !valid_utf8(d.content, d.content_len)) out->bad_utf8++;
        memcpy(out->reasoning + out->rn, d.reasoning, d.reasoning_len);
        out->rn += d.reasoning_len;
        memcpy(out->content + out->cn, d.content, d.content_len);
        out->cn += d.content_len;
        out->calls += d.n_tool_calls;
        out->stopped |= d.stopped;
        at = to;
    }
    CHECK(exa_chat_parser_finish(p, &d) == EXA_OK, "finish");
    memcpy(out->reasoning + out->rn, d.reasoning, d.reasoning_len);
    out->rn += d.reasoning_len;
    memcpy(out->content + out->cn, d.content, d.content_len);
    out->cn += d.content_len;
    out->calls += d.n_tool_calls;
    out->reasoning[out->rn] = 0;
    out->content[out->cn] = 0;
    if (keep) *keep = p;
    else exa_chat_parser_free(p);
}

static void test_reasoning(void) {
    exa_chat_parsed r = parse(EXA_CHAT_EXAONE4, 1, "Let me think.\n3.9 > 3.12\n</think>\n\nThe answer is 3.9.[|endofturn|]junk", NULL);
    EQ("4.0 reasoning", r.reasoning, "Let me think.\n3.9 > 3.12");
    EQ("4.0 content", r.content, "The answer is 3.9.");
    CHECK(r.stopped == 1, "stopped");
    exa_chat_parsed_free(&r);

    r = parse(EXA_CHAT_EXAONE4, 0, "\n<think>\nR1\n</think>\n\nA1", NULL);
    EQ("4.0 model-opened reasoning", r.reasoning, "R1");
    EQ("4.0 model-opened content", r.content, "A1");
    exa_chat_parsed_free(&r);

    r = parse(EXA_CHAT_EXAONE4, 0, "Hello! <think> is a tag.", NULL);
    EQ("4.0 no reasoning", r.reasoning, "");
    EQ("4.0 no reasoning content", r.content, "Hello! <think> is a tag.");
    exa_chat_parsed_free(&r);

    r = parse(EXA_CHAT_EXAONE4, 1, "still thinking, cut off", NULL);
    EQ("unterminated reasoning", r.reasoning, "still thinking, cut off");
    EQ("unterminated reasoning content", r.content, "");
    exa_chat_parsed_free(&r);

    r = parse(EXA_CHAT_DEEP, 1, "계산하자: 2+2=4\n</thought>\n\n답은 4입니다.[|endofturn|]", NULL);
    EQ("Deep reasoning", r.reasoning, "계산하자: 2+2=4");
    EQ("Deep content", r.content, "답은 4입니다.");
    exa_chat_parsed_free(&r);

    r = parse(EXA_CHAT_EXAONE3, 0, "Hi <thought>x</thought> <tool_call>{}</tool_call>[|endofturn|]", NULL);
    EQ("3.x content verbatim", r.content, "Hi <thought>x</thought> <tool_call>{}</tool_call>");
    EQ("3.x no reasoning", r.reasoning, "");
    exa_chat_parsed_free(&r);
}

static void test_tool_calls(void) {
    const char *two = "<tool_call>{\"name\": \"roll_dice\", \"arguments\": {\"max_num\": 6}}</tool_call>\n"
                      "<tool_call>{\"name\": \"roll_dice\", \"arguments\": {\"max_num\": 6}}</tool_call>[|endofturn|]";
    exa_chat_parsed r = parse(EXA_CHAT_EXAONE4, 0, two, NULL);
    CHECK(r.n_tool_calls == 2, "two calls, got %d", r.n_tool_calls);
    EQ("no content around calls", r.content, "");
    EQ("calls json", r.tool_calls_json,
       "[{\"id\":\"call_0\",\"type\":\"function\",\"function\":{\"name\":\"roll_dice\",\"arguments\":\"{\\\"max_num\\\": 6}\"}},"
       "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"roll_dice\",\"arguments\":\"{\\\"max_num\\\": 6}\"}}]");
    exa_chat_parsed_free(&r);

    r = parse(EXA_CHAT_EXAONE4, 1, "날씨를 확인해야 한다.\n</think>\n\n확인해 볼게요.\n<tool_call>{\"name\": \"get_weather\", "
              "\"arguments\": {\"location\": \"서울\", \"days\": [1, 2.5]}}</tool_call>", NULL);
    EQ("reasoning before call", r.reasoning, "날씨를 확인해야 한다.");
    EQ("content before call", r.content, "확인해 볼게요.");
    CHECK(r.n_tool_calls == 1, "one call");
    struct json_object *a = json_tokener_parse(r.tool_calls_json), *fn, *args, *nm;
    CHECK(a && json_object_array_length(a) == 1, "array");
    json_object_object_get_ex(json_object_array_get_idx(a, 0), "function", &fn);
    json_object_object_get_ex(fn, "arguments", &args);
    json_object_object_get_ex(fn, "name", &nm);
    EQ("korean arguments", json_object_get_string(args), "{\"location\": \"서울\", \"days\": [1, 2.5]}");
    EQ("name", json_object_get_string(nm), "get_weather");
    json_object_put(a);
    exa_chat_parsed_free(&r);

    r = parse(EXA_CHAT_EXAONE4, 0, "A <tool_call>{\"name\": \"f\", \"arguments\": {</tool_call> B", NULL);
    CHECK(r.n_tool_calls == 0, "malformed: no call");
    EQ("malformed kept as content", r.content, "A <tool_call>{\"name\": \"f\", \"arguments\": {</tool_call> B");
    exa_chat_parsed_free(&r);

    r = parse(EXA_CHAT_EXAONE4, 0, "<tool_call>{\"arguments\": {}}</tool_call>", NULL);
    CHECK(r.n_tool_calls == 0, "no name: no call");
    EQ("nameless kept", r.content, "<tool_call>{\"arguments\": {}}</tool_call>");
    exa_chat_parsed_free(&r);

    r = parse(EXA_CHAT_EXAONE4, 0, "ok <tool_call>{\"name\": \"f\"", NULL);
    CHECK(r.n_tool_calls == 0, "unterminated: no call");
    EQ("unterminated kept", r.content, "ok <tool_call>{\"name\": \"f\"");
    exa_chat_parsed_free(&r);

    r = parse(EXA_CHAT_EXAONE4, 0, "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}</tool_call>"
              "<tool_call>[{\"name\": \"g\", \"parameters\": {\"b\": null}}, {\"name\": \"h\"}]</tool_call>", NULL);
    CHECK(r.n_tool_calls == 3, "string args + array form: 3 calls, got %d", r.n_tool_calls);
    CHECK(strstr(r.tool_calls_json, "\"arguments\":\"{\\\"a\\\": 1}\"") != NULL, "string arguments kept: %s", r.tool_calls_json);
    CHECK(strstr(r.tool_calls_json, "\"arguments\":\"{\\\"b\\\": null}\"") != NULL, "parameters used: %s", r.tool_calls_json);
    CHECK(strstr(r.tool_calls_json, "\"id\":\"call_2\"") && strstr(r.tool_calls_json, "\"arguments\":\"{}\""),
          "missing arguments -> {}: %s", r.tool_calls_json);
    exa_chat_parsed_free(&r);
}

static void test_stops(void) {
    /* user stop string split over chunks; text before it must not wait for the end */
    const char *t = "abc STOP def";
    size_t cuts[] = {6, 7};
    streamed s;
    exa_chat_parser *p;
    stream(EXA_CHAT_EXAONE4, 0, t, "STOP", cuts, 2, &s, &p);
    EQ("stop split content", s.content, "abc");
    CHECK(s.stopped, "stopped on split stop");
    exa_chat_parser_free(p);

    /* first delta already releases "abc" (only " ST" may be held) */
    exa_chat_parser_params pp = exa_chat_parser_default_params(EXA_CHAT_EXAONE4);
    const char *stops[] = {"STOP"};
    pp.stop = stops;
    pp.n_stop = 1;
    CHECK(exa_chat_parser_init(&pp, &p) == EXA_OK, "init");
    exa_chat_delta d;
    exa_chat_parser_feed(p, "abc ST", 6, &d);
    CHECK(d.content_len == 3 && !memcmp(d.content, "abc", 3), "abc released early (got %zu bytes)", d.content_len);
    exa_chat_parser_feed(p, "OP more", 7, &d);
    CHECK(d.stopped && d.stop_string && !strcmp(d.stop_string, "STOP") && d.content_len == 0, "stop reported");
    exa_chat_parser_feed(p, "ignored", 7, &d);
    CHECK(d.stopped && d.content_len == 0, "nothing after stop");
    exa_chat_parser_free(p);

    /* [|endofturn|] split in many places */
    const char *t2 = "Answer.[|endofturn|][|user|]";
    for (size_t c = 1; c < strlen(t2); c++) {
        size_t cuts2[] = {c};
        stream(EXA_CHAT_EXAONE4, 0, t2, NULL, cuts2, 1, &s, NULL);
        CHECK(!strcmp(s.content, "Answer.") && s.stopped, "endofturn split at %zu: [%s]", c, s.content);
    }
    /* near miss released at finish */
    exa_chat_parsed r = parse(EXA_CHAT_EXAONE4, 0, "x [|endo", NULL);
    EQ("near-miss stop released", r.content, "x [|endo");
    CHECK(!r.stopped, "not stopped");
    exa_chat_parsed_free(&r);
    /* stop inside reasoning */
    r = parse(EXA_CHAT_EXAONE4, 1, "think STOP more</think>x", "STOP");
    EQ("stop in reasoning", r.reasoning, "think");
    EQ("stop in reasoning content", r.content, "");
    exa_chat_parsed_free(&r);
}

static void test_utf8(void) {
    const char *t = "생각 중…\n</think>\n\n안녕하세요, 반갑습니다! 🦙";
    size_t n = strlen(t);
    size_t cuts[256];
    for (size_t i = 0; i < n; i++) cuts[i] = i + 1;
    streamed s;
    stream(EXA_CHAT_EXAONE4, 1, t, NULL, cuts, (int)n, &s, NULL);
    CHECK(s.bad_utf8 == 0, "every delta is whole UTF-8");
    EQ("bytewise reasoning", s.reasoning, "생각 중…");
    EQ("bytewise content", s.content, "안녕하세요, 반갑습니다! 🦙");

    exa_chat_parsed r = parse(EXA_CHAT_EXAONE3, 0, "a\xff" "b\xed\xa0\x80" "c\xc3", NULL);
    EQ("invalid bytes -> U+FFFD", r.content, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "c\xEF\xBF\xBD");
    exa_chat_parsed_free(&r);
}

static unsigned long long rs = 88172645463325252ull;
static unsigned rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return (unsigned)rs; }

static void test_random_splits(void) {
    static const struct { exa_chat_kind k; int open; const char *t; const char *stop; } cases[] = {
        {EXA_CHAT_EXAONE4, 1, "Reason about 서울 weather.\n</think>\n\nChecking. <tool_call>{\"name\": \"w\", \"arguments\": {\"city\": \"서울\"}}</tool_call>\n<tool_call>{bad}</tool_call> done[|endofturn|]", NULL},
        {EXA_CHAT_EXAONE4, 0, "  <think>\nhmm</think>\n\n<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>", NULL},
        {EXA_CHAT_DEEP, 1, "Step 1: 한국어 추론\n\nStep 2\n</thought>\n\nFinal: 42 </thought> tail<END>x", "<END>"},
        {EXA_CHAT_EXAONE3, 0, "Plain answer with [|endo and <tool_call> text.\n", NULL},
        {EXA_CHAT_EXAONE4, 0, "<tool_call<tool_call>{\"name\": \"z\", \"arguments\": {\"q\": \"</tool\"}}</tool_call>", NULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        exa_chat_parsed whole = parse(cases[c].k, cases[c].open, cases[c].t, cases[c].stop);
        size_t n = strlen(cases[c].t);
        for (int trial = 0; trial < 200; trial++) {
            size_t cuts[16];
            int nc = (int)(rnd() % 16);
            for (int i = 0; i < nc; i++) cuts[i] = rnd() % (n + 1);
            for (int i = 1; i < nc; i++)  /* sort */
                for (int j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) { size_t x = cuts[j]; cuts[j] = cuts[j - 1]; cuts[j - 1] = x; }
            streamed s;
            exa_chat_parser *p;
            stream(cases[c].k, cases[c].open, cases[c].t, cases[c].stop, cuts, nc, &s, &p);
            CHECK(!strcmp(s.reasoning, whole.reasoning) && !strcmp(s.content, whole.content) &&
                  s.calls == whole.n_tool_calls && !strcmp(exa_chat_parser_tool_calls(p), whole.tool_calls_json) &&
                  s.bad_utf8 == 0,
                  "case %zu trial %d: streamed [%s|%s|%d] vs whole [%s|%s|%d]", c, trial, s.reasoning, s.content, s.calls,
                  whole.reasoning, whole.content, whole.n_tool_calls);
            EQ("totals match deltas (reasoning)", exa_chat_parser_reasoning(p), s.reasoning);
            EQ("totals match deltas (content)", exa_chat_parser_content(p), s.content);
            exa_chat_parser_free(p);
        }
        exa_chat_parsed_free(&whole);
    }
    exa_chat_parsed r = parse(EXA_CHAT_EXAONE4, 0, "<tool_call<tool_call>{\"name\": \"z\", \"arguments\": {\"q\": \"</tool\"}}</tool_call>", NULL);
    CHECK(r.n_tool_calls == 1, "call after a broken tag");
    EQ("broken tag kept", r.content, "<tool_call");
    exa_chat_parsed_free(&r);
    r = parse(EXA_CHAT_DEEP, 1, "Step 1: 한국어 추론\n\nStep 2\n</thought>\n\nFinal: 42 </thought> tail<END>x", "<END>");
    EQ("deep multi-paragraph reasoning", r.reasoning, "Step 1: 한국어 추론\n\nStep 2");
    EQ("deep content keeps later tag", r.content, "Final: 42 </thought> tail");
    exa_chat_parsed_free(&r);
}

int main(void) {
    test_reasoning();
    test_tool_calls();
    test_stops();
    test_utf8();
    test_random_splits();
    if (fails) { fprintf(stderr, "%d failures\n", fails); return 1; }
    printf("chat parser: all checks passed\n");
    return 0;
}
