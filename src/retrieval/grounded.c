/* grounded.c — grounded answers over retrieved passages: builds the chat messages that instruct
 * a model to answer only from numbered excerpts and cite them as [1], [2] …, in the language of
 * the question (Korean if it contains Hangul, else English), and reads the citations back out of
 * the answer. Shared by `exaone ask` and the server's index-backed chat completions. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

static const char *SYS_KO =
    "당신은 아래에 번호가 매겨진 문서 발췌만을 근거로 답하는 도우미입니다. 발췌에 없는 내용은 추측하거나 "
    "지어내지 마세요. 답에 사용한 발췌를 [1], [2]처럼 번호로 인용하세요. 발췌에서 답을 찾을 수 없으면 "
    "\"제공된 문서에서 답을 찾을 수 없습니다.\"라고만 답하세요.";
static const char *SYS_EN =
    "You answer using only the numbered document excerpts below. Do not guess or use outside "
    "knowledge. Cite the excerpts you use as [1], [2], and so on. If the excerpts do not contain the "
    "answer, reply only: \"I could not find the answer in the provided documents.\"";

int exa_text_is_korean(const char *s) {
    /* any Hangul syllable or jamo (UTF-8 lead bytes of U+AC00–U+D7A3 are 0xEA–0xED; jamo 0xE1 0x84–0x87) */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (p[0] >= 0xEA && p[0] <= 0xED && p[1] >= 0x80) {
            unsigned cp = ((unsigned)(p[0] & 0x0F) << 12) | ((unsigned)(p[1] & 0x3F) << 6) | (unsigned)(p[2] & 0x3F);
            if (p[2] && cp >= 0xAC00 && cp <= 0xD7A3) return 1;
        }
        if (p[0] == 0xE3 && p[1] >= 0x84 && p[1] <= 0x86) return 1; /* compatibility jamo U+3130–U+318F */
    }
    return 0;
}

const char *exa_grounded_not_found(const char *question) {
    return exa_text_is_korean(question) ? "제공된 문서에서 답을 찾을 수 없습니다."
                                         : "I could not find the answer in the provided documents.";
}

exa_status exa_grounded_messages(const char *question, const exa_passage *passages, int n, int max_chars_per_passage,
                                 struct json_object **out) {
    *out = NULL;
    if (!question) return EXA_ERR_INVALID_ARG;
    const int ko = exa_text_is_korean(question);
    exa_buf u = {0};
    exa_buf_printf(&u, "%s\n\n", ko ? "문서 발췌:" : "Document excerpts:");
    for (int i = 0; i < n; i++) {
        const exa_passage *p = &passages[i];
        const char *title = p->title && *p->title ? p->title : p->path;
        if (p->page > 0) exa_buf_printf(&u, "[%d] %s (%s, p. %d)\n", i + 1, title, p->path, p->page);
        else exa_buf_printf(&u, "[%d] %s (%s)\n", i + 1, title, p->path);
        size_t len = strlen(p->text);
        if (max_chars_per_passage > 0 && len > (size_t)max_chars_per_passage) {
            len = (size_t)max_chars_per_passage; /* cut on a UTF-8 character boundary */
            while (len > 0 && ((unsigned char)p->text[len] & 0xC0) == 0x80) len--;
            exa_buf_printf(&u, "%.*s …\n\n", (int)len, p->text);
        } else {
            exa_buf_printf(&u, "%s\n\n", p->text);
        }
    }
    exa_buf_printf(&u, "%s %s", ko ? "질문:" : "Question:", question);
    if (u.oom) { free(u.s); return EXA_ERR_NOMEM; }
    struct json_object *msgs = json_object_new_array();
    struct json_object *sys = json_object_new_object(), *usr = json_object_new_object();
    json_object_object_add(sys, "role", json_object_new_string("system"));
    json_object_object_add(sys, "content", json_object_new_string(ko ? SYS_KO : SYS_EN));
    json_object_object_add(usr, "role", json_object_new_string("user"));
    json_object_object_add(usr, "content", json_object_new_string_len(u.s, (int)u.n));
    json_object_array_add(msgs, sys);
    json_object_array_add(msgs, usr);
    free(u.s);
    *out = msgs;
    return EXA_OK;
}

struct json_object *exa_grounded_passage_json(const exa_passage *p, int n, int with_text) {
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "n", json_object_new_int(n));
    json_object_object_add(o, "path", json_object_new_string(p->path));
    json_object_object_add(o, "title", json_object_new_string(p->title ? p->title : ""));
    json_object_object_add(o, "page", json_object_new_int(p->page));
    json_object_object_add(o, "score", json_object_new_double(p->score));
    json_object_object_add(o, "start", json_object_new_int64(p->start));
    json_object_object_add(o, "end", json_object_new_int64(p->end));
    if (with_text) json_object_object_add(o, "text", json_object_new_string(p->text));
    return o;
}

int exa_grounded_keep(const exa_passage *passages, int n, double min_ratio) {
    while (n > 1 && passages[n - 1].score < min_ratio * passages[0].score) n--;
    return n;
}

int exa_grounded_citations(const char *answer, int n_passages, int *cited) {
    int count = 0;
    for (int i = 0; i < n_passages; i++) cited[i] = 0;
    for (const char *p = answer; (p = strchr(p, '[')); p++) {
        /* [3] and lists like [1, 2] or [1][2] */
        const char *q = p + 1;
        while (*q) {
            while (*q == ' ') q++;
            char *end;
            long v = strtol(q, &end, 10);
            if (end == q) break;
            if (v >= 1 && v <= n_passages && !cited[v - 1]) { cited[v - 1] = 1; count++; }
            q = end;
            while (*q == ' ') q++;
            if (*q == ',') { q++; continue; }
            break;
        }
    }
    return count;
}
