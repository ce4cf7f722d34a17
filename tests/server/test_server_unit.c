/* test_server_unit.c — the server's request validation and token->OpenAI JSON pipeline without
 * HTTP or a model (src/server/request.c, output.c), with the real EXAONE 4.0 tokenizer from
 * $EXA_SHARED and the built-in 4.0 template:
 *  - malformed JSON / wrong types / unsupported values -> 400 with the right param;
 *  - prompt longer than the context, max_tokens beyond it -> 400 context_length_exceeded;
 *  - the model's output "<think>…</think>answer<tool_call>{…}</tool_call>" fed token by token
 *    gives reasoning_content, tool_calls and finish_reason "tool_calls", streamed and not;
 *  - streaming text of Hangul is never split inside a character and concatenates to the whole;
 *  - stop strings for /v1/completions, held back across tokens; eos and max_tokens. */
#include <stdlib.h>
#include <string.h>

#include "server/srv_internal.h"
#include "test_util.h"

static srv_env env;

static int valid_utf8(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + (size_t)len > n) return 0;
        for (int k = 1; k < len; k++) if (((unsigned char)s[i + k] & 0xC0) != 0x80) return 0;
        i += (size_t)len;
    }
    return 1;
}

static void expect_400(srv_req *(*parse)(const srv_env *, const char *, size_t, srv_err *), const char *body,
                       const char *param, const char *needle) {
    srv_err e;
    memset(&e, 0, sizeof e);
    srv_req *r = parse(&env, body, strlen(body), &e);
    CHECK(!r && e.status == 400, "expected 400 for %s (got req=%p status=%d)", body, (void *)r, e.status);
    if (param) CHECK(e.param && !strcmp(e.param, param), "param for %s: want %s got %s", body, param, e.param ? e.param : "(null)");
    if (needle) CHECK(strstr(e.message, needle) != NULL, "message for %s: '%s' lacks '%s'", body, e.message, needle);
    char *j = srv_err_json(&e);
    json_object *o = json_tokener_parse(j), *er, *x;
    CHECK(o && json_object_object_get_ex(o, "error", &er) && json_object_object_get_ex(er, "message", &x) &&
          json_object_object_get_ex(er, "type", &x) && json_object_object_get_ex(er, "param", &x) &&
          json_object_object_get_ex(er, "code", &x), "error object shape: %s", j);
    json_object_put(o);
    free(j);
    srv_req_free(r);
}

/* Feeds the tokens of text to a request as if the model had sampled them; returns the
 * concatenated r->pend (SSE stream or final body). */
static char *run_tokens(srv_req *r, const char *text, int add_eos) {
    CHECK(srv_gen_begin(&env, r) == 0, "gen_begin");
    int32_t *ids = NULL;
    size_t n = 0;
    exa_tokenizer_encode_alloc(env.tok, text, strlen(text), 0, &ids, &n);
    int done = 0;
    for (size_t i = 0; i < n && !done; i++) done = srv_gen_token(&env, r, ids[i], NULL);
    if (!done && add_eos) done = srv_gen_token(&env, r, env.eos, NULL);
    if (!done) srv_gen_finish(&env, r, "length");
    free(ids);
    return strdup(r->pend.p ? r->pend.p : "");
}

/* Splits an SSE stream into its JSON events; checks framing; returns count (excl. [DONE]). */
static int sse_events(const char *s, json_object **ev, int cap, int *saw_done) {
    int n = 0;
    *saw_done = 0;
    while (*s) {
        CHECK(!strncmp(s, "data: ", 6), "SSE line must start with 'data: ': %.40s", s);
        const char *end = strstr(s, "\n\n");
        CHECK(end != NULL, "SSE event must end with a blank line");
        if (!end) break;
        if (!strncmp(s + 6, "[DONE]", 6)) *saw_done = 1;
        else if (n < cap) {
            char *j = strndup(s + 6, (size_t)(end - s - 6));
            ev[n] = json_tokener_parse(j);
            CHECK(ev[n] != NULL, "SSE event is not JSON: %s", j);
            free(j);
            n++;
        }
        s = end + 2;
    }
    return n;
}

static const char *jstr(json_object *o, const char *path) {   /* "a.b.0.c" */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_object *x = o;
    for (char *t = strtok(buf, "."); t && x; t = strtok(NULL, ".")) {
        if (json_object_is_type(x, json_type_array)) x = json_object_array_get_idx(x, (size_t)atoi(t));
        else if (!json_object_object_get_ex(x, t, &x)) x = NULL;
    }
    return x ? json_object_get_string(x) : NULL;
}

static void test_validation(void) {
    expect_400(srv_parse_chat, "{\"messages\": [", NULL, "malformed JSON");
    expect_400(srv_parse_chat, "[1,2]", NULL, "JSON object");
    expect_400(srv_parse_chat, "{\"messages\": []} x", NULL, "malformed JSON");
    expect_400(srv_parse_chat, "{}", "messages", "required");
    expect_400(srv_parse_chat, "{\"messages\": \"hi\"}", "messages", NULL);
    expect_400(srv_parse_chat, "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}", "messages", "robot");
    const char *m = "\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]";
    char b[512];
    struct { const char *field, *param; } bad[] = {
        {"\"temperature\": \"hot\"", "temperature"}, {"\"temperature\": 3", "temperature"}, {"\"top_p\": 0", "top_p"},
        {"\"max_tokens\": 1.5", "max_tokens"}, {"\"max_tokens\": 0", "max_tokens"}, {"\"stream\": 1", "stream"},
        {"\"stop\": 5", "stop"}, {"\"stop\": [\"a\", 1]", "stop"}, {"\"seed\": \"x\"", "seed"}, {"\"n\": 2", "n"},
        {"\"logprobs\": \"yes\"", "logprobs"}, {"\"top_logprobs\": 30, \"logprobs\": true", "top_logprobs"},
        {"\"top_logprobs\": 3", "top_logprobs"}, {"\"tools\": {}", "tools"}, {"\"tools\": [{\"type\": \"function\"}]", "tools"},
        {"\"tool_choice\": \"required\"", "tool_choice"}, {"\"presence_penalty\": 1", "presence_penalty"},
        {"\"chat_template_kwargs\": {\"enable_thinking\": \"yes\"}", "chat_template_kwargs.enable_thinking"},
        {"\"reasoning_effort\": \"extreme\"", "reasoning_effort"}, {"\"model\": 7", "model"},
        {"\"max_tokens\": 100000", "max_tokens"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(b, sizeof b, "{%s, %s}", m, bad[i].field);
        expect_400(srv_parse_chat, b, bad[i].param, NULL);
    }
    expect_400(srv_parse_completion, "{\"prompt\": 3}", "prompt", NULL);
    expect_400(srv_parse_completion, "{\"prompt\": [1, 999999]}", "prompt", NULL);
    expect_400(srv_parse_completion, "{\"prompt\": [\"a\", \"b\"]}", "prompt", "several");
    expect_400(srv_parse_completion, "{\"prompt\": \"\"}", "prompt", "empty");
    expect_400(srv_parse_completion, "{\"prompt\": \"x\", \"logprobs\": true}", "logprobs", NULL);
    /* prompt longer than the context */
    srv_buf big = {0};
    srv_buf_add(&big, "{\"prompt\": \"", 12);
    for (int i = 0; i < 300; i++) srv_buf_add(&big, "hello ", 6);
    srv_buf_add(&big, "\"}", 2);
    expect_400(srv_parse_completion, big.p, "prompt", "maximum context length is 256 tokens");
    srv_buf_free(&big);
    /* good requests */
    srv_err e;
    snprintf(b, sizeof b, "{%s, \"max_completion_tokens\": 7, \"temperature\": 0, \"stop\": \"x\", \"seed\": 5, \"stream\": true, "
                          "\"stream_options\": {\"include_usage\": true}, \"chat_template_kwargs\": {\"enable_thinking\": true}}", m);
    srv_req *r = srv_parse_chat(&env, b, strlen(b), &e);
    CHECK(r && r->max_tokens == 7 && r->sp.temperature == 0 && r->n_stop == 1 && r->sp.seed == 5 && r->stream &&
          r->include_usage && r->reasoning_open, "good chat request parsed (%s)", r ? "fields" : e.message);
    srv_req_free(r);
    const char *tp = "{\"prompt\": [[1, 2, 3]], \"logprobs\": 2}";
    r = srv_parse_completion(&env, tp, strlen(tp), &e);
    CHECK(r && r->n_prompt == 3 && r->logprobs && r->top_logprobs == 2 && r->max_tokens == 256 - 3, "token prompt parsed");
    srv_req_free(r);
}

static void test_tool_calls(void) {
    const char *body = "{\"messages\": [{\"role\": \"user\", \"content\": \"서울 날씨?\"}], \"chat_template_kwargs\": {\"enable_thinking\": true},"
                       "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\","
                       "\"properties\": {\"city\": {\"type\": \"string\"}}}}}]}";
    const char *out = "날씨를 확인해야 한다.\n</think>\n\n<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"서울\"}}</tool_call>";
    env.n_ctx = 4096;   /* the tools block makes a long prompt */
    for (int stream = 0; stream < 2; stream++) {
        srv_err e;
        srv_buf b = {0};
        srv_buf_add(&b, body, strlen(body) - 1);
        srv_buf_addf(&b, ", \"stream\": %s}", stream ? "true" : "false");
        srv_req *r = srv_parse_chat(&env, b.p, b.n, &e);
        srv_buf_free(&b);
        CHECK(r && r->parse_tools && r->reasoning_open, "tool request parsed: %s", r ? "" : e.message);
        if (!r) continue;
        char *res = run_tokens(r, out, 1);
        if (!stream) {
            json_object *o = json_tokener_parse(res);
            CHECK(o != NULL, "final body is JSON: %s", res);
            CHECK(jstr(o, "object") && !strcmp(jstr(o, "object"), "chat.completion"), "object");
            CHECK(jstr(o, "choices.0.finish_reason") && !strcmp(jstr(o, "choices.0.finish_reason"), "tool_calls"), "finish tool_calls: %s", res);
            CHECK(jstr(o, "choices.0.message.reasoning_content") && !strcmp(jstr(o, "choices.0.message.reasoning_content"), "날씨를 확인해야 한다."),
                  "reasoning_content: %s", res);
            CHECK(jstr(o, "choices.0.message.tool_calls.0.function.name") && !strcmp(jstr(o, "choices.0.message.tool_calls.0.function.name"), "get_weather"), "tool name");
            const char *args = jstr(o, "choices.0.message.tool_calls.0.function.arguments");
            json_object *a = args ? json_tokener_parse(args) : NULL;
            CHECK(a && jstr(a, "city") && !strcmp(jstr(a, "city"), "서울"), "arguments JSON text: %s", args ? args : "(none)");
            json_object_put(a);
            CHECK(jstr(o, "choices.0.message.tool_calls.0.type") && !strcmp(jstr(o, "choices.0.message.tool_calls.0.type"), "function"), "type");
            CHECK(jstr(o, "choices.0.message.tool_calls.0.id") && !strncmp(jstr(o, "choices.0.message.tool_calls.0.id"), "call_", 5), "id");
            json_object *msg = NULL, *content = NULL;
            json_object_object_get_ex(json_object_array_get_idx(json_object_object_get(o, "choices"), 0), "message", &msg);
            CHECK(msg && json_object_object_get_ex(msg, "content", &content) && content == NULL, "content null with tool calls");
            CHECK(jstr(o, "usage.completion_tokens") && atoi(jstr(o, "usage.completion_tokens")) == r->n_gen, "usage");
            json_object_put(o);
        } else {
            json_object *ev[256];
            int done = 0, n = sse_events(res, ev, 256, &done);
            CHECK(done && n >= 3, "stream events %d, [DONE] %d", n, done);
            srv_buf reasoning = {0};
            int n_tc = 0;
            const char *finish = NULL;
            for (int i = 0; i < n; i++) {
                const char *rc = jstr(ev[i], "choices.0.delta.reasoning_content");
                if (rc) srv_buf_add(&reasoning, rc, strlen(rc));
                if (jstr(ev[i], "choices.0.delta.tool_calls.0.function.name")) {
                    n_tc++;
                    CHECK(jstr(ev[i], "choices.0.delta.tool_calls.0.index") && !strcmp(jstr(ev[i], "choices.0.delta.tool_calls.0.index"), "0"), "tool call index");
                }
                if (jstr(ev[i], "choices.0.finish_reason")) finish = jstr(ev[i], "choices.0.finish_reason");
                CHECK(!strcmp(jstr(ev[i], "object"), "chat.completion.chunk"), "chunk object");
            }
            CHECK(reasoning.p && !strcmp(reasoning.p, "날씨를 확인해야 한다."), "streamed reasoning '%s'", reasoning.p ? reasoning.p : "");
            CHECK(n_tc == 1 && finish && !strcmp(finish, "tool_calls"), "streamed tool call %d, finish %s", n_tc, finish ? finish : "(none)");
            CHECK(jstr(ev[0], "choices.0.delta.role") && !strcmp(jstr(ev[0], "choices.0.delta.role"), "assistant"), "first delta has the role");
            srv_buf_free(&reasoning);
            for (int i = 0; i < n; i++) json_object_put(ev[i]);
        }
        free(res);
        srv_req_free(r);
    }
    env.n_ctx = 256;
}

static void test_stream_utf8_and_stops(void) {
    /* Hangul answer, streamed: every chunk valid UTF-8, concatenation == non-streamed content */
    const char *answer = "안녕하세요! 저는 엑사원입니다. 무엇을 도와드릴까요? 🙂 ẞ";
    srv_err e;
    const char *body = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"stream\": true, \"logprobs\": true, \"top_logprobs\": 0}";
    srv_req *r = srv_parse_chat(&env, body, strlen(body), &e);
    CHECK(r != NULL, "parse");
    if (r) {
        /* feed byte tokens so characters are split across tokens */
        CHECK(srv_gen_begin(&env, r) == 0, "begin");
        for (const char *p = answer; *p; p++) {
            char piece[2] = {*p, 0};
            int32_t id = -1;
            size_t n = 0;
            /* the byte-level token of this single byte */
            for (int32_t t = 0; t < 102400 && id < 0; t++) {
                const char *tb = exa_tokenizer_token_bytes(env.tok, t, &n);
                if (tb && n == 1 && tb[0] == piece[0] && !exa_tokenizer_is_added(env.tok, t)) id = t;
            }
            CHECK(id >= 0, "byte token");
            if (id >= 0) srv_gen_token(&env, r, id, NULL);
        }
        srv_gen_token(&env, r, env.eos, NULL);
        json_object *ev[512];
        int done = 0, n = sse_events(r->pend.p, ev, 512, &done);
        srv_buf all = {0};
        for (int i = 0; i < n; i++) {
            const char *c = jstr(ev[i], "choices.0.delta.content");
            if (c) { CHECK(valid_utf8(c, strlen(c)), "chunk %d valid UTF-8", i); srv_buf_add(&all, c, strlen(c)); }
            json_object_put(ev[i]);
        }
        CHECK(all.p && !strcmp(all.p, answer), "streamed text '%s'", all.p ? all.p : "");
        CHECK(n > 10, "several chunks (%d)", n);
        CHECK(!strcmp(r->finish, "stop"), "eos -> stop");
        srv_buf_free(&all);
        srv_req_free(r);
    }
    /* completions: stop strings, held back across tokens */
    const char *cb = "{\"prompt\": \"x\", \"stop\": [\"END\", \"\\n\\n\"], \"stream\": true}";
    r = srv_parse_completion(&env, cb, strlen(cb), &e);
    CHECK(r != NULL, "parse completion");
    if (r) {
        char *res = run_tokens(r, "one two EN three E", 0);
        srv_req_free(r);
        r = srv_parse_completion(&env, cb, strlen(cb), &e);
        free(res);
        res = run_tokens(r, "alpha beta\n\ngamma", 0);
        json_object *ev[64];
        int done = 0, n = sse_events(res, ev, 64, &done);
        srv_buf all = {0};
        const char *finish = NULL;
        for (int i = 0; i < n; i++) {
            const char *t = jstr(ev[i], "choices.0.text");
            if (t) srv_buf_add(&all, t, strlen(t));
            if (jstr(ev[i], "choices.0.finish_reason")) finish = jstr(ev[i], "choices.0.finish_reason");
        }
        CHECK(all.p && !strcmp(all.p, "alpha beta"), "text before the stop string: '%s'", all.p ? all.p : "");
        CHECK(finish && !strcmp(finish, "stop") && done, "finish stop");
        for (int i = 0; i < n; i++) json_object_put(ev[i]);
        srv_buf_free(&all);
        free(res);
        srv_req_free(r);
    }
    const char *nb = "{\"prompt\": \"x\", \"stop\": \"END\", \"max_tokens\": 3}";
    r = srv_parse_completion(&env, nb, strlen(nb), &e);
    if (r) {
        char *res = run_tokens(r, "one two three four five", 0);
        json_object *o = json_tokener_parse(res);
        CHECK(o && !strcmp(jstr(o, "choices.0.finish_reason"), "length") && !strcmp(jstr(o, "object"), "text_completion"), "max_tokens -> length: %s", res);
        CHECK(o && !strcmp(jstr(o, "choices.0.text"), "one two three"), "3 tokens of text: %s", res);
        json_object_put(o);
        free(res);
        srv_req_free(r);
    }
}

int main(void) {
    const char *shared = getenv("EXA_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/data/exaone-tokenizer/exaone-4.0", shared ? shared : "../shared");
    exa_tokenizer *tok = NULL;
    char err[512];
    if (exa_tokenizer_load(path, &tok, err, sizeof err) != EXA_OK) { fprintf(stderr, "%s\n", err); return 1; }
    exa_chat_template *t = exa_chat_template_builtin(EXA_CHAT_EXAONE4);
    env.tok = tok; env.tmpl = t; env.model_name = "test"; env.n_ctx = 256; env.n_vocab = 102400; env.eos = exa_tokenizer_eos(tok);
    test_validation();
    test_tool_calls();
    test_stream_utf8_and_stops();
    exa_chat_template_free(t);
    exa_tokenizer_free(tok);
    return TEST_END();
}
