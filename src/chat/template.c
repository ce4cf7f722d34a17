/* template.c — finds a model's chat template (chat_template.jinja, tokenizer_config.json,
 * config fallback; for a GGUF its tokenizer.chat_template, then files next to it, then
 * general.architecture) and identifies which EXAONE template it is. Identification compares a
 * canonical form of the Jinja text — whitespace control applied as HF configures Jinja
 * (trim_blocks, lstrip_blocks, '-' markers), tag tokens without spacing, string literals
 * decoded — with the known official templates (known_templates.h), so re-indented or
 * re-quoted copies match while any change of logic or literal text is refused (no silently
 * wrong prompts). Owns exa_chat_template. REF: spec §8. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "chat/chat_internal.h"
#include "chat/chat_template.h"
#include "chat/known_templates.h"
#include "core/common.h"
#include "model/gguf.h"

const char *exa_chat_kind_name(exa_chat_kind kind) {
    switch (kind) {
    case EXA_CHAT_EXAONE3: return "exaone3";
    case EXA_CHAT_DEEP: return "exaone-deep";
    case EXA_CHAT_EXAONE4: return "exaone4";
    default: return "auto";
    }
}

exa_chat_kind exa_chat_kind_from_name(const char *name) {
    if (!name) return EXA_CHAT_AUTO;
    static const struct { const char *n; exa_chat_kind k; } tab[] = {
        {"exaone3", EXA_CHAT_EXAONE3}, {"exaone3.0", EXA_CHAT_EXAONE3}, {"exaone3.5", EXA_CHAT_EXAONE3},
        {"exaone", EXA_CHAT_EXAONE3},  {"exaone-deep", EXA_CHAT_DEEP},   {"deep", EXA_CHAT_DEEP},
        {"exaone4", EXA_CHAT_EXAONE4}, {"exaone4.0", EXA_CHAT_EXAONE4},  {"exaone-4.0", EXA_CHAT_EXAONE4},
        {"exaone-3.5", EXA_CHAT_EXAONE3},
    };
    for (size_t i = 0; i < EXA_ARRAY_LEN(tab); i++)
        if (!strcasecmp(name, tab[i].n)) return tab[i].k;
    return EXA_CHAT_AUTO;
}

/* ---- canonical form ------------------------------------------------------------------------ */
typedef struct tag_info {
    char type;      /* '{' expression, '%' statement, '#' comment */
    int lstrip;     /* '-' after the opening delimiter */
    int keep;       /* '+' after the opening delimiter (disables lstrip_blocks) */
    int rstrip;     /* '-' before the closing delimiter */
} tag_info;

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static int is_word(char c) { return isalnum((unsigned char)c) || c == '_' || c == '.' || (unsigned char)c >= 0x80; }

/* Appends the data segment d[0..n) after whitespace control from the tags around it, as
 * Jinja 3's lexer does: '-' strips all whitespace on that side; trim_blocks drops the first
 * newline after a block/comment; lstrip_blocks drops spaces/tabs between the start of a line
 * and a block/comment tag. */
static void canon_data(exa_sbuf *out, const char *d, size_t n, const tag_info *prev, const tag_info *next) {
    int line_starting = prev == NULL;
    if (prev) {
        if (prev->rstrip) {
            while (n && is_ws(*d)) { d++; n--; }
        } else if (prev->type != '{') {
            if (n && *d == '\n') { d++; n--; line_starting = 1; }
            else if (n >= 2 && d[0] == '\r' && d[1] == '\n') { d += 2; n -= 2; line_starting = 1; }
        }
    }
    if (next) {
        if (next->lstrip) {
            while (n && is_ws(d[n - 1])) n--;
        } else if (next->type != '{' && !next->keep) {
            size_t l = n;
            while (l && d[l - 1] != '\n') l--;
            if (l > 0 || line_starting) {
                size_t k = l;
                while (k < n && is_ws(d[k]) && d[k] != '\n') k++;
                if (k == n) n = l;
            }
        }
    }
    if (!n) return;
    exa_sbuf_puts(out, "D\"");
    for (size_t i = 0; i < n; i++) {
        if (d[i] == '\\' || d[i] == '"') exa_sbuf_putc(out, '\\');
        exa_sbuf_putc(out, d[i]);
    }
    exa_sbuf_puts(out, "\"");
}

/* Decodes a Jinja string literal body (between quotes) and appends it in canonical quoting. */
static void canon_string(exa_sbuf *out, const char *s, size_t n) {
    exa_sbuf_putc(out, '\'');
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            char e = s[++i];
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case '\\': c = '\\'; break;
            case '\'': c = '\''; break;
            case '"': c = '"'; break;
            default: exa_sbuf_putc(out, '\\'); c = e; break; /* keep unknown escapes verbatim */
            }
            if (c == '\\' || c == '\'') exa_sbuf_putc(out, '\\');
            if (c == '\n') { exa_sbuf_puts(out, "\\n"); continue; }
            exa_sbuf_putc(out, c);
            continue;
        }
        if (c == '\'' ) { exa_sbuf_puts(out, "\\'"); continue; }
        if (c == '\n') { exa_sbuf_puts(out, "\\n"); continue; }
        exa_sbuf_putc(out, c);
    }
    exa_sbuf_putc(out, '\'');
}

/* Canonical form of a Jinja template; returns 0 on a lexing error (unterminated tag/string). */
static int canonicalize_norm(const char *t, size_t n, exa_sbuf *out);
static int canonicalize(const char *src, exa_sbuf *out) {
    /* Jinja's lexer first turns \r\n and \r into \n and drops one trailing newline
     * (keep_trailing_newline=False). */
    exa_sbuf norm = {0};
    for (const char *p = src; *p; p++) {
        if (*p == '\r') {
            exa_sbuf_putc(&norm, '\n');
            if (p[1] == '\n') p++;
        } else {
            exa_sbuf_putc(&norm, *p);
        }
    }
    exa_sbuf_append(&norm, "", 0);
    if (norm.len && norm.data[norm.len - 1] == '\n') norm.data[--norm.len] = 0;
    int ok = !norm.oom && canonicalize_norm(norm.data, norm.len, out);
    exa_sbuf_free(&norm);
    return ok;
}

static int canonicalize_norm(const char *t, size_t n, exa_sbuf *out) {
    size_t i = 0, data_start = 0;
    tag_info prev = {0}, cur;
    int have_prev = 0;
    while (i < n) {
        if (!(t[i] == '{' && i + 1 < n && (t[i + 1] == '{' || t[i + 1] == '%' || t[i + 1] == '#'))) { i++; continue; }
        memset(&cur, 0, sizeof cur);
        cur.type = t[i + 1];
        size_t j = i + 2;
        if (j < n && t[j] == '-') { cur.lstrip = 1; j++; }
        else if (j < n && t[j] == '+') { cur.keep = 1; j++; }
        /* find the end of the tag */
        exa_sbuf body = {0};
        int depth = 0;
        char closer = cur.type == '{' ? '}' : cur.type;
        size_t end = 0;
        int prev_word = 0;
        while (j < n) {
            if (cur.type == '#') {
                if (t[j] == '#' && j + 1 < n && t[j + 1] == '}') { end = j; break; }
                if (t[j] == '-' && j + 2 < n && t[j + 1] == '#' && t[j + 2] == '}') { cur.rstrip = 1; end = j; break; }
                j++;
                continue;
            }
            char c = t[j];
            if (depth == 0) {
                if (c == '-' && j + 2 < n && t[j + 1] == closer && t[j + 2] == '}') { cur.rstrip = 1; end = j; break; }
                if (c == closer && j + 1 < n && t[j + 1] == '}') { end = j; break; }
            }
            if (c == '\'' || c == '"') {
                size_t k = j + 1;
                while (k < n && t[k] != c) k += (t[k] == '\\' && k + 1 < n) ? 2 : 1;
                if (k >= n) { exa_sbuf_free(&body); return 0; }
                canon_string(&body, t + j + 1, k - j - 1);
                prev_word = 0;
                j = k + 1;
                continue;
            }
            if (is_ws(c)) {
                size_t k = j;
                while (k < n && is_ws(t[k])) k++;
                if (prev_word && k < n && is_word(t[k])) exa_sbuf_putc(&body, ' ');
                j = k;
                continue;
            }
            if (c == '(' || c == '[' || c == '{') depth++;
            if ((c == ')' || c == ']' || c == '}') && depth > 0) depth--;
            exa_sbuf_putc(&body, c);
            prev_word = is_word(c);
            j++;
        }
        if (j >= n) { exa_sbuf_free(&body); return 0; }
        canon_data(out, t + data_start, i - data_start, have_prev ? &prev : NULL, &cur);
        if (cur.type != '#') {
            exa_sbuf_putc(out, '{');
            exa_sbuf_putc(out, cur.type);
            if (body.len) exa_sbuf_append(out, body.data, body.len);
            exa_sbuf_putc(out, closer);
            exa_sbuf_putc(out, '}');
        }
        exa_sbuf_free(&body);
        i = end + (cur.rstrip ? 1 : 0) + 2;
        data_start = i;
        prev = cur;
        have_prev = 1;
    }
    canon_data(out, t + data_start, n - data_start, have_prev ? &prev : NULL, NULL);
    return !out->oom;
}

/* Canonical forms of the known templates, computed once (thread-safe). */
static exa_sbuf known_canon[EXA_ARRAY_LEN(exa_known_templates)];
static int known_ok[EXA_ARRAY_LEN(exa_known_templates)];
static pthread_once_t known_once = PTHREAD_ONCE_INIT;
static void known_init(void) {
    for (size_t k = 0; k < EXA_ARRAY_LEN(exa_known_templates); k++)
        known_ok[k] = canonicalize(exa_known_templates[k].text, &known_canon[k]);
}

/* Which known template the text is (index into exa_known_templates), or -1. */
static int identify(const char *text) {
    pthread_once(&known_once, known_init);
    exa_sbuf a = {0};
    int found = -1;
    if (!canonicalize(text, &a)) { exa_sbuf_free(&a); return -1; }
    for (size_t k = 0; k < EXA_ARRAY_LEN(exa_known_templates) && found < 0; k++)
        if (known_ok[k] && a.len == known_canon[k].len && !memcmp(a.data, known_canon[k].data, a.len)) found = (int)k;
    exa_sbuf_free(&a);
    return found;
}

/* Rough family guess for error messages only. */
static const char *resembles(const char *text) {
    if (strstr(text, "[|endofturn|]")) {
        if (strstr(text, "<think>") || strstr(text, "[|tool|]")) return "EXAONE 4.0";
        if (strstr(text, "<thought>")) return "EXAONE Deep";
        return "EXAONE 3.x";
    }
    return NULL;
}

/* ---- handle ------------------------------------------------------------------------------- */
static exa_chat_template *tmpl_new(exa_chat_kind kind, const char *desc) {
    exa_chat_template *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->kind = kind;
    snprintf(t->desc, sizeof t->desc, "%s", desc);
    return t;
}

exa_chat_template *exa_chat_template_builtin(exa_chat_kind kind) {
    if (kind != EXA_CHAT_EXAONE3 && kind != EXA_CHAT_DEEP && kind != EXA_CHAT_EXAONE4) return NULL;
    char d[96];
    snprintf(d, sizeof d, "built-in %s template", exa_chat_kind_name(kind));
    return tmpl_new(kind, d);
}

void exa_chat_template_free(exa_chat_template *t) { free(t); }
exa_chat_kind exa_chat_template_kind(const exa_chat_template *t) { return t ? t->kind : EXA_CHAT_AUTO; }
const char *exa_chat_template_describe(const exa_chat_template *t) { return t ? t->desc : ""; }

exa_status exa_chat_template_from_text(const char *jinja, const char *origin, exa_chat_kind force,
                                       exa_chat_template **out, char *err, size_t err_size) {
    *out = NULL;
    if (!jinja) return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "chat template: no text");
    if (!origin) origin = "chat template";
    char d[512];
    int k = identify(jinja);
    if (force != EXA_CHAT_AUTO) {
        if (force != EXA_CHAT_EXAONE3 && force != EXA_CHAT_DEEP && force != EXA_CHAT_EXAONE4)
            return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "chat template: invalid forced kind %d", (int)force);
        if (k >= 0 && exa_known_templates[k].kind == (int)force)
            snprintf(d, sizeof d, "%s (%s)", origin, exa_known_templates[k].name);
        else
            snprintf(d, sizeof d, "built-in %s template (forced; %s not used)", exa_chat_kind_name(force), origin);
    } else {
        if (k < 0) {
            const char *r = resembles(jinja);
            if (r)
                return exa_err(err, err_size, EXA_ERR_UNSUPPORTED,
                               "%s: chat template resembles %s but is not a known official EXAONE template; "
                               "force a built-in one (exaone3, exaone-deep, exaone4) to use it anyway", origin, r);
            return exa_err(err, err_size, EXA_ERR_UNSUPPORTED,
                           "%s: unknown chat template (not an EXAONE template); force a built-in one "
                           "(exaone3, exaone-deep, exaone4) to use it anyway", origin);
        }
        force = (exa_chat_kind)exa_known_templates[k].kind;
        snprintf(d, sizeof d, "%s (%s)", origin, exa_known_templates[k].name);
    }
    *out = tmpl_new(force, d);
    return *out ? EXA_OK : exa_err(err, err_size, EXA_ERR_NOMEM, "chat template: out of memory");
}

/* config.json / vocab fallback when the folder has no template. */
static exa_status fallback_kind(const char *dir, exa_chat_kind *kind, char *why, size_t why_size, char *err,
                                size_t err_size) {
    char path[4096];
    *kind = EXA_CHAT_AUTO;
    if (exa_path_join(path, sizeof path, dir, "config.json") && exa_file_exists(path)) {
        struct json_object *cfg = json_object_from_file(path);
        if (!cfg) return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: not valid JSON", path);
        struct json_object *mt = NULL, *nm = NULL;
        const char *model_type = json_object_object_get_ex(cfg, "model_type", &mt) ? json_object_get_string(mt) : NULL;
        const char *name = json_object_object_get_ex(cfg, "_name_or_path", &nm) ? json_object_get_string(nm) : NULL;
        if (model_type && !strcmp(model_type, "exaone4")) {
            *kind = EXA_CHAT_EXAONE4;
            snprintf(why, why_size, "config.json model_type exaone4");
        } else if (model_type && !strcmp(model_type, "exaone")) {
            int deep = name && strcasestr(name, "deep");
            *kind = deep ? EXA_CHAT_DEEP : EXA_CHAT_EXAONE3;
            snprintf(why, why_size, "config.json model_type exaone%s", deep ? ", name says Deep" : "");
        }
        json_object_put(cfg);
        if (*kind) return EXA_OK;
    }
    /* vocabulary: 4.0 has the [|tool|] role token (id 358) where 3.x has [extra_id_196] */
    if (exa_path_join(path, sizeof path, dir, "tokenizer_config.json") && exa_file_exists(path)) {
        char *data = NULL;
        size_t size = 0;
        if (exa_file_read(path, (size_t)64 << 20, &data, &size, NULL, 0) == EXA_OK) {
            int is4 = strstr(data, "\"[|tool|]\"") != NULL;
            int is3 = strstr(data, "[|endofturn|]") != NULL;
            free(data);
            if (is4 || is3) {
                *kind = is4 ? EXA_CHAT_EXAONE4 : EXA_CHAT_EXAONE3;
                snprintf(why, why_size, "tokenizer vocabulary (%s)", is4 ? "has [|tool|]" : "3.x markers");
                return EXA_OK;
            }
        }
    }
    return exa_err(err, err_size, EXA_ERR_UNSUPPORTED,
                   "%s: no chat template (chat_template.jinja, tokenizer_config.json) and config.json does "
                   "not say which EXAONE version this is; force one (exaone3, exaone-deep, exaone4)", dir);
}

/* EXAONE version of a GGUF without a template: general.architecture exaone4 -> 4.0; exaone ->
 * Deep when general.name says Deep, else 3.x (the config.json rule of fallback_kind) */
static exa_chat_kind gguf_kind(const exa_gguf *g, char *why, size_t why_size) {
    exa_gguf_str arch, name = {0};
    if (exa_gguf_get_str(g, EXA_GGUF_KEY_ARCH, &arch) != EXA_OK) return EXA_CHAT_AUTO;
    if (arch.len == 7 && !memcmp(arch.ptr, "exaone4", 7)) {
        snprintf(why, why_size, "general.architecture exaone4");
        return EXA_CHAT_EXAONE4;
    }
    if (arch.len != 6 || memcmp(arch.ptr, "exaone", 6)) return EXA_CHAT_AUTO;
    int deep = 0;
    if (exa_gguf_get_str(g, EXA_GGUF_KEY_NAME, &name) == EXA_OK)
        for (uint64_t i = 0; i + 4 <= name.len && !deep; i++) deep = !strncasecmp(name.ptr + i, "deep", 4);
    snprintf(why, why_size, "general.architecture exaone%s", deep ? ", general.name says Deep" : "");
    return deep ? EXA_CHAT_DEEP : EXA_CHAT_EXAONE3;
}

/* the folder's template files, then (g != NULL: the GGUF in that folder has no template) the
 * GGUF's architecture, then config.json / the vocabulary */
static exa_status load_dir(const char *dir, const exa_gguf *g, exa_chat_kind force, exa_chat_template **out, char *err,
                           size_t err_size) {
    char path[4096];
    exa_status st;
    /* 1. chat_template.jinja (takes precedence in transformers) */
    if (exa_path_join(path, sizeof path, dir, "chat_template.jinja") && exa_file_exists(path)) {
        char *data = NULL;
        size_t size = 0;
        st = exa_file_read(path, (size_t)4 << 20, &data, &size, err, err_size);
        if (st) return st;
        if (strlen(data) != size) {
            free(data);
            return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: contains a NUL byte", path);
        }
        st = exa_chat_template_from_text(data, path, force, out, err, err_size);
        free(data);
        return st;
    }
    /* 2. tokenizer_config.json "chat_template" */
    if (exa_path_join(path, sizeof path, dir, "tokenizer_config.json") && exa_file_exists(path)) {
        char *data = NULL;
        size_t size = 0;
        st = exa_file_read(path, (size_t)64 << 20, &data, &size, err, err_size);
        if (st) return st;
        struct json_tokener *tok = json_tokener_new_ex(64);
        struct json_object *cfg = tok ? json_tokener_parse_ex(tok, data, (int)EXA_MIN(size, (size_t)0x7fffffff)) : NULL;
        if (tok) json_tokener_free(tok);
        free(data);
        if (!cfg || !json_object_is_type(cfg, json_type_object)) {
            json_object_put(cfg);
            return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: not a JSON object", path);
        }
        struct json_object *ct = NULL;
        if (json_object_object_get_ex(cfg, "chat_template", &ct) && !json_object_is_type(ct, json_type_null)) {
            const char *text = NULL;
            char origin[4200];
            if (json_object_is_type(ct, json_type_string)) {
                text = json_object_get_string(ct);
                snprintf(origin, sizeof origin, "%s chat_template", path);
            } else if (json_object_is_type(ct, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(ct); i++) {
                    struct json_object *e = json_object_array_get_idx(ct, i), *nm, *tx;
                    if (json_object_object_get_ex(e, "name", &nm) && json_object_object_get_ex(e, "template", &tx) &&
                        json_object_is_type(tx, json_type_string) && !strcmp(json_object_get_string(nm), "default"))
                        text = json_object_get_string(tx);
                }
                snprintf(origin, sizeof origin, "%s chat_template \"default\"", path);
                if (!text) {
                    json_object_put(cfg);
                    return exa_err(err, err_size, EXA_ERR_FORMAT,
                                   "%s: chat_template is a list without a \"default\" template", path);
                }
            } else {
                json_object_put(cfg);
                return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: chat_template is neither a string nor a list", path);
            }
            st = exa_chat_template_from_text(text, origin, force, out, err, err_size);
            json_object_put(cfg);
            return st;
        }
        json_object_put(cfg);
    }
    /* 3. no template in the folder */
    if (force != EXA_CHAT_AUTO) {
        *out = exa_chat_template_builtin(force);
        return *out ? EXA_OK : exa_err(err, err_size, EXA_ERR_INVALID_ARG, "chat template: invalid forced kind");
    }
    exa_chat_kind k = EXA_CHAT_AUTO;
    char why[128] = "";
    if (g) k = gguf_kind(g, why, sizeof why);
    if (!k) {
        st = fallback_kind(dir, &k, why, sizeof why, err, err_size);
        if (st) return st;
    }
    char d[256];
    snprintf(d, sizeof d, "built-in %s template (no template in the %s; chosen by %s)", exa_chat_kind_name(k),
             g ? "GGUF or its folder" : "folder", why);
    *out = tmpl_new(k, d);
    return *out ? EXA_OK : exa_err(err, err_size, EXA_ERR_NOMEM, "chat template: out of memory");
}

exa_status exa_chat_template_load(const char *dir, exa_chat_kind force, exa_chat_template **out, char *err,
                                  size_t err_size) {
    *out = NULL;
    if (!dir) return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "chat template: no folder given");
    char gpath[4096];
    if (!exa_gguf_locate(dir, gpath, sizeof gpath)) return load_dir(dir, NULL, force, out, err, err_size);
    /* a GGUF: its tokenizer.chat_template first, then template files in its folder (spec §6.4) */
    exa_gguf *g = NULL;
    exa_status st = exa_gguf_open(gpath, 1, &g, err, err_size);
    if (st) return st;
    const exa_gguf_kv *kv = exa_gguf_find_kv(g, EXA_GGUF_KEY_CHAT_TEMPLATE);
    if (kv) {
        if (kv->type != EXA_GGUF_STRING || kv->v.s.len > ((uint64_t)4 << 20) || memchr(kv->v.s.ptr, 0, (size_t)kv->v.s.len)) {
            st = exa_err(err, err_size, EXA_ERR_FORMAT, "%s: tokenizer.chat_template is not a string of at most 4 MiB without NUL bytes", gpath);
        } else {
            char *text = malloc((size_t)kv->v.s.len + 1);
            char origin[4200];
            snprintf(origin, sizeof origin, "%s tokenizer.chat_template", gpath);
            if (!text) st = exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory", gpath);
            else {
                memcpy(text, kv->v.s.ptr, (size_t)kv->v.s.len);
                text[kv->v.s.len] = 0;
                st = exa_chat_template_from_text(text, origin, force, out, err, err_size);
                free(text);
            }
        }
        exa_gguf_close(g);
        return st;
    }
    char folder[4096];
    snprintf(folder, sizeof folder, "%s", gpath);
    char *slash = strrchr(folder, '/');
    if (slash) *slash = 0;
    else snprintf(folder, sizeof folder, ".");
    st = load_dir(folder, g, force, out, err, err_size);
    exa_gguf_close(g);
    return st;
}
