/* finetune_data.c — chat JSONL → masked, packed training rows for `exaone finetune` (see
 * finetune_data.h and docs/train.md "Chat fine-tuning"). */
#include "train/finetune_data.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "train/train_model.h"

#define FT_MAX_FILE ((size_t)4 << 30)

/* render messages[0:n] (add_generation_prompt = gen) */
static exa_status render_prefix(const exa_chat_template *tpl, const json_object *msgs, size_t n, int gen, char **out,
                                size_t *len, char *err, size_t errsz) {
    json_object *a = json_object_new_array();
    if (!a) return exa_err(err, errsz, EXA_ERR_NOMEM, "finetune: out of memory");
    for (size_t i = 0; i < n; i++) json_object_array_add(a, json_object_get(json_object_array_get_idx(msgs, i)));
    exa_chat_render_opts o = exa_chat_render_default_opts();
    o.add_generation_prompt = gen;
    exa_status rc = exa_chat_render(tpl, a, NULL, &o, out, len, err, errsz);
    json_object_put(a);
    return rc;
}

/* appends the tokens of text[0:len) with mask value mk */
static exa_status add_segment(const exa_tokenizer *tok, const char *text, size_t len, uint8_t mk, int32_t **ids,
                              uint8_t **mask, size_t *n, size_t *cap, char *err, size_t errsz) {
    if (!len) return EXA_OK;
    int32_t *t;
    size_t k;
    exa_status rc = exa_tokenizer_encode_alloc(tok, text, len, 0, &t, &k);
    if (rc) return exa_err(err, errsz, rc, "finetune: tokenizing failed (%s)", exa_status_str(rc));
    if (*n + k > *cap) {
        size_t nc = EXA_MAX(*cap * 2, *n + k + 64);
        int32_t *ni = realloc(*ids, nc * sizeof *ni);
        if (ni) *ids = ni;
        uint8_t *nm = realloc(*mask, nc);
        if (nm) *mask = nm;
        if (!ni || !nm) { free(t); return exa_err(err, errsz, EXA_ERR_NOMEM, "finetune: out of memory"); }
        *cap = nc;
    }
    memcpy(*ids + *n, t, k * sizeof *t);
    memset(*mask + *n, mk, k);
    *n += k;
    free(t);
    return EXA_OK;
}

exa_status exa_ft_tokenize_chat(const exa_chat_template *tpl, const exa_tokenizer *tok, const json_object *messages,
                                int32_t **ids, uint8_t **mask, size_t *n, char *err, size_t errsz) {
    *ids = NULL; *mask = NULL; *n = 0;
    if (!json_object_is_type(messages, json_type_array) || json_object_array_length(messages) == 0)
        return exa_err(err, errsz, EXA_ERR_FORMAT, "\"messages\" must be a non-empty array");
    size_t nm = json_object_array_length(messages), cap = 0;
    char *full = NULL;
    size_t flen = 0, done = 0; /* bytes of full already tokenized */
    exa_status rc = render_prefix(tpl, messages, nm, 0, &full, &flen, err, errsz);
    int n_assist = 0;
    for (size_t i = 0; i < nm && !rc; i++) {
        json_object *msg = json_object_array_get_idx(messages, i), *role;
        if (!json_object_is_type(msg, json_type_object) || !json_object_object_get_ex(msg, "role", &role) ||
            !json_object_is_type(role, json_type_string)) {
            rc = exa_err(err, errsz, EXA_ERR_FORMAT, "message %zu has no \"role\" string", i);
            break;
        }
        if (strcmp(json_object_get_string(role), "assistant")) continue;
        char *pre = NULL, *upto = NULL;
        size_t plen = 0, ulen = 0;
        rc = render_prefix(tpl, messages, i, 1, &pre, &plen, err, errsz);
        if (!rc) rc = render_prefix(tpl, messages, i + 1, 0, &upto, &ulen, err, errsz);
        /* the assistant turn is upto[plen:ulen); both must be prefixes of the full rendering */
        if (!rc && (plen < done || plen > ulen || ulen > flen || memcmp(pre, upto, plen) || memcmp(upto, full, ulen)))
            rc = exa_err(err, errsz, EXA_ERR_UNSUPPORTED,
                         "the chat template does not render message %zu as an extension of the earlier ones (cannot find the assistant span)", i);
        if (!rc) rc = add_segment(tok, full + done, plen - done, 0, ids, mask, n, &cap, err, errsz);
        if (!rc) rc = add_segment(tok, full + plen, ulen - plen, 1, ids, mask, n, &cap, err, errsz);
        if (!rc) { done = ulen; n_assist += ulen > plen; }
        free(pre);
        free(upto);
    }
    if (!rc) rc = add_segment(tok, full + done, flen - done, 0, ids, mask, n, &cap, err, errsz);
    if (!rc && !n_assist) rc = exa_err(err, errsz, EXA_ERR_FORMAT, "no assistant message (nothing to learn)");
    free(full);
    if (rc) { free(*ids); free(*mask); *ids = NULL; *mask = NULL; *n = 0; }
    return rc;
}

typedef struct { int32_t *ids; uint8_t *mask; int n; } ft_ex;

exa_status exa_ft_data_load(exa_ft_data *d, const char *path, const char *base_dir, int B, int T, uint64_t seed,
                            char *err, size_t errsz) {
    memset(d, 0, sizeof *d);
    d->B = B; d->T = T; d->seed = seed; d->perm_epoch = -1;
    exa_tokenizer *tok = NULL;
    exa_chat_template *tpl = NULL;
    char *text = NULL;
    size_t tlen = 0;
    ft_ex *ex = NULL;
    size_t nex = 0, cap = 0;
    exa_status rc = exa_tokenizer_load(base_dir, &tok, err, errsz);
    if (!rc) rc = exa_chat_template_load(base_dir, EXA_CHAT_AUTO, &tpl, err, errsz);
    if (!rc) rc = exa_file_read(path, FT_MAX_FILE, &text, &tlen, err, errsz);
    if (rc) goto out;
    int32_t pad = exa_tokenizer_pad(tok);
    if (pad < 0) pad = 0;
    long lineno = 0;
    for (char *p = text, *nl; p && p < text + tlen && !rc; p = nl ? nl + 1 : NULL) {
        nl = memchr(p, '\n', (size_t)(text + tlen - p));
        if (nl) *nl = 0;
        lineno++;
        size_t k = strspn(p, " \t\r");
        if (!p[k]) continue;
        json_object *root = json_tokener_parse(p), *msgs;
        if (!root || !json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, "messages", &msgs)) {
            json_object_put(root);
            rc = exa_err(err, errsz, EXA_ERR_FORMAT, "%s:%ld: expected a JSON object with \"messages\"", path, lineno);
            break;
        }
        char e2[400];
        int32_t *ids;
        uint8_t *mask;
        size_t n;
        rc = exa_ft_tokenize_chat(tpl, tok, msgs, &ids, &mask, &n, e2, sizeof e2);
        json_object_put(root);
        if (rc) { rc = exa_err(err, errsz, rc, "%s:%ld: %s", path, lineno, e2); break; }
        d->n_examples++;
        d->n_tokens += (int64_t)n;
        if ((int64_t)n > T) { /* keep the first T tokens if an assistant token survives */
            d->n_truncated++;
            n = (size_t)T;
        }
        int has = 0;
        for (size_t i = 1; i < n; i++) has |= mask[i];
        if (!has) { d->n_dropped++; free(ids); free(mask); continue; }
        if (nex == cap) {
            cap = cap ? 2 * cap : 256;
            ft_ex *ne = realloc(ex, cap * sizeof *ne);
            if (!ne) { free(ids); free(mask); rc = exa_err(err, errsz, EXA_ERR_NOMEM, "finetune: out of memory"); break; }
            ex = ne;
        }
        ex[nex++] = (ft_ex){ids, mask, (int)n};
    }
    if (rc) goto out;
    if (!nex) { rc = exa_err(err, errsz, EXA_ERR_FORMAT, "%s: no conversation with an assistant token within seq_len %d", path, T); goto out; }
    /* shuffle the conversations (seeded), then pack them whole, first come first served */
    exa_trng r;
    exa_trng_seed(&r, seed ^ 0x9e3779b97f4a7c15ull);
    for (size_t i = nex - 1; i > 0; i--) {
        size_t j = (size_t)(exa_trng_next(&r) % (i + 1));
        ft_ex t = ex[i]; ex[i] = ex[j]; ex[j] = t;
    }
    int rows = 1, used = 0;
    for (size_t i = 0; i < nex; i++) {
        if (used + ex[i].n > T) { rows++; used = 0; }
        used += ex[i].n;
    }
    d->n_rows = rows;
    d->x = malloc(sizeof(int32_t) * (size_t)rows * T);
    d->y = malloc(sizeof(int32_t) * (size_t)rows * T);
    d->perm = malloc(sizeof(int) * (size_t)rows);
    if (!d->x || !d->y || !d->perm) { rc = exa_err(err, errsz, EXA_ERR_NOMEM, "finetune: out of memory"); goto out; }
    for (size_t i = 0; i < (size_t)rows * T; i++) { d->x[i] = pad; d->y[i] = -1; }
    int row = 0;
    used = 0;
    for (size_t i = 0; i < nex; i++) {
        if (used + ex[i].n > T) { row++; used = 0; }
        int32_t *x = d->x + (size_t)row * T + used, *y = d->y + (size_t)row * T + used;
        for (int k = 0; k < ex[i].n; k++) {
            x[k] = ex[i].ids[k];
            /* position k predicts token k+1 of the same conversation, counted if it is an assistant token */
            y[k] = k + 1 < ex[i].n && ex[i].mask[k + 1] ? ex[i].ids[k + 1] : -1;
            d->n_target_tokens += y[k] >= 0;
        }
        used += ex[i].n;
    }
out:
    for (size_t i = 0; i < nex; i++) { free(ex[i].ids); free(ex[i].mask); }
    free(ex);
    free(text);
    exa_tokenizer_free(tok);
    exa_chat_template_free(tpl);
    if (rc) exa_ft_data_free(d);
    return rc;
}

void exa_ft_data_free(exa_ft_data *d) {
    free(d->x); free(d->y); free(d->perm);
    d->x = d->y = NULL;
    d->perm = NULL;
}

static int64_t ft_tell(void *u) { return ((exa_ft_data *)u)->pos; }

static exa_status ft_seek(void *u, int64_t pos, char *err, size_t errsz) {
    exa_ft_data *d = u;
    if (pos < 0) return exa_err(err, errsz, EXA_ERR_FORMAT, "finetune: saved data position %lld is invalid", (long long)pos);
    d->pos = pos;
    return EXA_OK;
}

/* rows of epoch e in a seeded order (the same for a given seed and epoch, so resume is exact) */
static void ft_perm(exa_ft_data *d, int64_t e) {
    if (d->perm_epoch == e) return;
    exa_trng r;
    exa_trng_seed(&r, d->seed + 0x632be59bd9b4e019ull * (uint64_t)(e + 1));
    for (int i = 0; i < d->n_rows; i++) d->perm[i] = i;
    for (int i = d->n_rows - 1; i > 0; i--) {
        int j = (int)(exa_trng_next(&r) % (uint64_t)(i + 1));
        int t = d->perm[i]; d->perm[i] = d->perm[j]; d->perm[j] = t;
    }
    d->perm_epoch = e;
}

static exa_status ft_next(void *u, int32_t *x, int32_t *y, char *err, size_t errsz) {
    (void)err; (void)errsz;
    exa_ft_data *d = u;
    for (int b = 0; b < d->B; b++, d->pos++) {
        ft_perm(d, d->pos / d->n_rows);
        int row = d->perm[d->pos % d->n_rows];
        memcpy(x + (size_t)b * d->T, d->x + (size_t)row * d->T, sizeof(int32_t) * d->T);
        memcpy(y + (size_t)b * d->T, d->y + (size_t)row * d->T, sizeof(int32_t) * d->T);
    }
    return EXA_OK;
}

exa_train_source exa_ft_data_source(exa_ft_data *d) {
    return (exa_train_source){.user = d, .next = ft_next, .tell = ft_tell, .seek = ft_seek};
}
