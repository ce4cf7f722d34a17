/* config.c — parses a Hugging Face config.json for model_type "exaone" (EXAONE 3.0/3.5/Deep) and
 * "exaone4" (EXAONE 4.0) into exa_hparams, accepting every key variant of spec §1.2 and rejecting
 * missing, contradictory or out-of-range values with one line naming the file and the key. */
#include <json-c/json.h>
#include <math.h>
#include <string.h>

#include "model/model.h"

#define CFG_ERR(...) exa_err(err, err_size, EXA_ERR_CONFIG, __VA_ARGS__)

static struct json_object *get(struct json_object *o, const char *key) {
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v)) return NULL;
    return v; /* NULL also for JSON null */
}

/* Integer key: returns 1 found, 0 absent/null, -1 wrong type or out of [lo,hi]. */
static int get_int(struct json_object *o, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    struct json_object *v = get(o, key);
    if (!v) return 0;
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        if (d != floor(d) || d < (double)lo || d > (double)hi) return -1;
        *out = (int64_t)d;
        return 1;
    }
    if (!json_object_is_type(v, json_type_int)) return -1;
    int64_t x = json_object_get_int64(v);
    if (x < lo || x > hi) return -1;
    *out = x;
    return 1;
}

static int get_num(struct json_object *o, const char *key, double *out) {
    struct json_object *v = get(o, key);
    if (!v) return 0;
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)) return -1;
    double d = json_object_get_double(v);
    if (!isfinite(d)) return -1;
    *out = d;
    return 1;
}

/* Reads a required/optional positive int from the first present of two spellings; both present
 * and different is a contradiction. */
static exa_status read_dim(struct json_object *root, const char *path, const char *k1, const char *k2,
                           int required, int64_t hi, int *out, char *err, size_t err_size) {
    int64_t a = 0, b = 0;
    int ra = get_int(root, k1, 1, hi, &a);
    int rb = k2 ? get_int(root, k2, 1, hi, &b) : 0;
    if (ra < 0) return CFG_ERR("%s: '%s' must be an integer in [1, %lld]", path, k1, (long long)hi);
    if (rb < 0) return CFG_ERR("%s: '%s' must be an integer in [1, %lld]", path, k2, (long long)hi);
    if (ra && rb && a != b) return CFG_ERR("%s: '%s' (%lld) and '%s' (%lld) disagree", path, k1, (long long)a, k2, (long long)b);
    if (!ra && !rb) {
        if (required) return CFG_ERR("%s: missing '%s'", path, k1);
        return EXA_OK;
    }
    *out = (int)(ra ? a : b);
    return EXA_OK;
}

/* rope_scaling (transformers <= 4.5x) or rope_parameters (v5; may be per layer type). */
static exa_status parse_rope(struct json_object *root, const char *path, exa_hparams *hp, char *err,
                             size_t err_size) {
    double theta = 10000.0;
    int rt = get_num(root, "rope_theta", &theta);
    if (rt < 0) return CFG_ERR("%s: 'rope_theta' must be a number", path);
    struct json_object *rs = get(root, "rope_scaling");
    struct json_object *rp = get(root, "rope_parameters");
    if (rp && json_object_is_type(rp, json_type_object)) {
        struct json_object *full = get(rp, "full_attention");
        if (full && json_object_is_type(full, json_type_object)) rp = full; /* per-layer-type form */
        double t2;
        int r2 = get_num(rp, "rope_theta", &t2);
        if (r2 < 0) return CFG_ERR("%s: 'rope_parameters.rope_theta' must be a number", path);
        if (r2 > 0) theta = t2;
        if (!rs) rs = rp;
    } else if (rp) {
        return CFG_ERR("%s: 'rope_parameters' must be an object", path);
    }
    if (!(theta >= 1.0) || theta > 1e12) return CFG_ERR("%s: 'rope_theta' out of range", path);
    hp->rope_theta = (float)theta;
    hp->rope_type = EXA_ROPE_DEFAULT;
    if (!rs) return EXA_OK;
    if (!json_object_is_type(rs, json_type_object)) return CFG_ERR("%s: 'rope_scaling' must be an object or null", path);
    struct json_object *t = get(rs, "rope_type");
    if (!t) t = get(rs, "type");
    const char *type = t && json_object_is_type(t, json_type_string) ? json_object_get_string(t) : "default";
    if (!strcmp(type, "default")) return EXA_OK;
    if (strcmp(type, "llama3") != 0)
        return exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: rope scaling type '%s' is not supported (EXAONE uses llama3)", path, type);
    double f = 8.0, lo = 1.0, hi = 4.0, orig = 8192.0;
    if (get_num(rs, "factor", &f) < 0 || get_num(rs, "low_freq_factor", &lo) < 0 ||
        get_num(rs, "high_freq_factor", &hi) < 0 || get_num(rs, "original_max_position_embeddings", &orig) < 0)
        return CFG_ERR("%s: llama3 rope scaling fields must be numbers", path);
    if (!(f >= 1.0 && f < 1e6) || !(lo > 0.0) || !(hi > lo) || !(orig >= 1.0 && orig < 1e9))
        return CFG_ERR("%s: llama3 rope scaling values out of range (factor %g, low %g, high %g, original %g)", path, f, lo, hi, orig);
    hp->rope_type = EXA_ROPE_LLAMA3;
    hp->rope_factor = (float)f;
    hp->rope_low_freq = (float)lo;
    hp->rope_high_freq = (float)hi;
    hp->rope_orig_ctx = (float)orig;
    return EXA_OK;
}

/* exaone4 layer types, spec §1.2 rules 1–3. */
static exa_status parse_layer_types(struct json_object *root, const char *path, exa_hparams *hp, char *err,
                                    size_t err_size) {
    int L = hp->n_layer;
    /* An absent key takes HF Exaone4Config's defaults (window 4096, pattern 4); an explicit null
     * means no sliding window (EXAONE-4.0-1.2B writes null). */
    struct json_object *unused;
    int64_t w = json_object_object_get_ex(root, "sliding_window", &unused) ? 0 : 4096;
    if (get(root, "sliding_window") && get_int(root, "sliding_window", 1, INT32_MAX, &w) < 0)
        return CFG_ERR("%s: 'sliding_window' must be a positive integer or null", path);
    hp->sliding_window = (int)w;
    struct json_object *lt = get(root, "layer_types");
    struct json_object *pat = get(root, "sliding_window_pattern");
    memset(hp->layer_sliding, 0, sizeof hp->layer_sliding);
    if (lt) {
        if (!json_object_is_type(lt, json_type_array) || (int)json_object_array_length(lt) != L)
            return CFG_ERR("%s: 'layer_types' must be a list of %d entries", path, L);
        for (int i = 0; i < L; i++) {
            struct json_object *e = json_object_array_get_idx(lt, (size_t)i);
            const char *s = e && json_object_is_type(e, json_type_string) ? json_object_get_string(e) : "";
            if (!strcmp(s, "sliding_attention")) hp->layer_sliding[i] = 1;
            else if (strcmp(s, "full_attention") != 0)
                return CFG_ERR("%s: layer_types[%d] must be \"sliding_attention\" or \"full_attention\"", path, i);
        }
    } else if (pat && w > 0) {
        if (json_object_is_type(pat, json_type_int)) {
            int64_t p = json_object_get_int64(pat);
            if (p < 1 || p > 1024) return CFG_ERR("%s: 'sliding_window_pattern' must be in [1, 1024]", path);
            for (int i = 0; i < L; i++) hp->layer_sliding[i] = ((i + 1) % p) != 0;
        } else if (json_object_is_type(pat, json_type_string)) {
            const char *s = json_object_get_string(pat);
            size_t n = strlen(s);
            if (n == 0 || n > 1024) return CFG_ERR("%s: 'sliding_window_pattern' string must be 1..1024 chars of L/G", path);
            for (size_t i = 0; i < n; i++)
                if (s[i] != 'L' && s[i] != 'G') return CFG_ERR("%s: 'sliding_window_pattern' may contain only 'L' and 'G'", path);
            for (int i = 0; i < L; i++) hp->layer_sliding[i] = s[(size_t)i % n] == 'L';
        } else {
            return CFG_ERR("%s: 'sliding_window_pattern' must be an integer, a string or null", path);
        }
    } else if (w > 0 && json_object_object_get_ex(root, "sliding_window_pattern", &unused)) {
        /* explicit null pattern with a window and no layer_types: HF fails here (#39696) */
        return CFG_ERR("%s: 'sliding_window' is set but 'sliding_window_pattern' is null and 'layer_types' is missing", path);
    } else if (w > 0) {
        /* sliding window without a pattern key: HF's default pattern is 4 (REF: spec §1.2) */
        for (int i = 0; i < L; i++) hp->layer_sliding[i] = ((i + 1) % 4) != 0;
    }
    int any = 0;
    for (int i = 0; i < L; i++) any |= hp->layer_sliding[i];
    if (any && w <= 0) return CFG_ERR("%s: layers marked sliding_attention but 'sliding_window' is null", path);
    /* rule 3: RoPE iff no sliding window at all, or the layer is a sliding (local) layer */
    for (int i = 0; i < L; i++) hp->layer_rope[i] = (w <= 0) || hp->layer_sliding[i];
    if (!any) hp->sliding_window = 0; /* window given but no layer uses it */
    return EXA_OK;
}

exa_status exa_config_parse(const char *json, size_t len, const char *path, exa_hparams *hp, char *err,
                            size_t err_size) {
    memset(hp, 0, sizeof *hp);
    struct json_tokener *tok = json_tokener_new_ex(64);
    if (!tok) return exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory", path);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    if (len > INT32_MAX) { json_tokener_free(tok); return CFG_ERR("%s: file too large", path); }
    struct json_object *root = json_tokener_parse_ex(tok, json, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t consumed = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    exa_status st = EXA_OK;
    if (!root || jerr != json_tokener_success) {
        json_object_put(root);
        return exa_err(err, err_size, EXA_ERR_CONFIG, "%s: invalid JSON (%s)", path,
                       jerr == json_tokener_continue ? "unexpected end of input" : json_tokener_error_desc(jerr));
    }
    for (size_t i = consumed; i < len; i++)
        if (!strchr(" \t\r\n", json[i])) { st = CFG_ERR("%s: trailing data after the JSON object", path); goto done; }
    if (!json_object_is_type(root, json_type_object)) { st = CFG_ERR("%s: top level must be an object", path); goto done; }

    struct json_object *mt = get(root, "model_type");
    const char *model_type = mt && json_object_is_type(mt, json_type_string) ? json_object_get_string(mt) : NULL;
    if (!model_type) {
        struct json_object *ar = get(root, "architectures");
        struct json_object *a0 = ar && json_object_is_type(ar, json_type_array) ? json_object_array_get_idx(ar, 0) : NULL;
        const char *an = a0 && json_object_is_type(a0, json_type_string) ? json_object_get_string(a0) : "";
        if (!strcmp(an, "ExaoneForCausalLM")) model_type = "exaone";
        else if (!strcmp(an, "Exaone4ForCausalLM")) model_type = "exaone4";
    }
    if (!model_type) { st = CFG_ERR("%s: missing 'model_type'", path); goto done; }
    if (!strcmp(model_type, "exaone")) hp->arch = EXA_ARCH_EXAONE;
    else if (!strcmp(model_type, "exaone4")) hp->arch = EXA_ARCH_EXAONE4;
    else { st = exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: unknown model_type '%s' (supported: exaone, exaone4)", path, model_type); goto done; }
    int is3 = hp->arch == EXA_ARCH_EXAONE;

    if ((st = read_dim(root, path, "vocab_size", NULL, 1, 16 << 20, &hp->n_vocab, err, err_size))) goto done;
    if ((st = read_dim(root, path, "hidden_size", NULL, 1, 1 << 17, &hp->n_embd, err, err_size))) goto done;
    if ((st = read_dim(root, path, is3 ? "num_layers" : "num_hidden_layers", is3 ? "num_hidden_layers" : "num_layers",
                       1, EXA_MAX_LAYERS, &hp->n_layer, err, err_size))) goto done;
    if ((st = read_dim(root, path, "num_attention_heads", NULL, 1, 4096, &hp->n_head, err, err_size))) goto done;
    hp->n_head_kv = hp->n_head;
    if ((st = read_dim(root, path, "num_key_value_heads", NULL, 0, 4096, &hp->n_head_kv, err, err_size))) goto done;
    if ((st = read_dim(root, path, "intermediate_size", NULL, 1, 1 << 20, &hp->n_ff, err, err_size))) goto done;
    hp->n_ctx_train = 2048;
    if ((st = read_dim(root, path, "max_position_embeddings", NULL, 0, 1 << 24, &hp->n_ctx_train, err, err_size))) goto done;
    if (hp->n_head % hp->n_head_kv)
        { st = CFG_ERR("%s: num_attention_heads (%d) is not a multiple of num_key_value_heads (%d)", path, hp->n_head, hp->n_head_kv); goto done; }
    if (is3) {
        /* the 3.x code always uses hidden/heads and ignores a head_dim key (REF: spec §1.2) */
        if (hp->n_embd % hp->n_head)
            { st = CFG_ERR("%s: hidden_size (%d) is not divisible by num_attention_heads (%d)", path, hp->n_embd, hp->n_head); goto done; }
        hp->head_dim = hp->n_embd / hp->n_head;
    } else {
        hp->head_dim = 0;
        if ((st = read_dim(root, path, "head_dim", NULL, 0, 4096, &hp->head_dim, err, err_size))) goto done;
        if (!hp->head_dim) {
            if (hp->n_embd % hp->n_head)
                { st = CFG_ERR("%s: hidden_size (%d) is not divisible by num_attention_heads (%d) and head_dim is missing", path, hp->n_embd, hp->n_head); goto done; }
            hp->head_dim = hp->n_embd / hp->n_head;
        }
    }
    if (hp->head_dim % 2) { st = CFG_ERR("%s: head_dim (%d) must be even for RoPE", path, hp->head_dim); goto done; }
    if ((int64_t)hp->n_head * hp->head_dim > (1 << 17)) { st = CFG_ERR("%s: num_attention_heads × head_dim too large", path); goto done; }

    double eps = 1e-5, e1 = 0, e2 = 0;
    int r1 = get_num(root, "layer_norm_epsilon", &e1), r2 = get_num(root, "rms_norm_eps", &e2);
    if (r1 < 0 || r2 < 0) { st = CFG_ERR("%s: norm epsilon must be a number", path); goto done; }
    if (r1 > 0 && r2 > 0 && e1 != e2) { st = CFG_ERR("%s: 'layer_norm_epsilon' and 'rms_norm_eps' disagree", path); goto done; }
    if (r1 > 0) eps = e1; else if (r2 > 0) eps = e2;
    if (!(eps >= 1e-12 && eps < 1.0)) { st = CFG_ERR("%s: norm epsilon %g out of range [1e-12, 1)", path, eps); goto done; }
    hp->norm_eps = (float)eps;

    struct json_object *act = get(root, is3 ? "activation_function" : "hidden_act");
    if (!act) act = get(root, is3 ? "hidden_act" : "activation_function");
    if (act && (!json_object_is_type(act, json_type_string) || strcmp(json_object_get_string(act), "silu")))
        { st = exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: activation '%s' is not supported (EXAONE uses silu)", path, json_object_get_string(act)); goto done; }

    if ((st = parse_rope(root, path, hp, err, err_size))) goto done;
    if (is3) {
        for (int i = 0; i < hp->n_layer; i++) hp->layer_rope[i] = 1;
    } else if ((st = parse_layer_types(root, path, hp, err, err_size))) goto done;

    struct json_object *tie = get(root, "tie_word_embeddings");
    hp->tied = 1; /* absent means tied: HF's default (REF: spec §1.2, pitfall 7) */
    if (tie) {
        if (!json_object_is_type(tie, json_type_boolean)) { st = CFG_ERR("%s: 'tie_word_embeddings' must be true or false", path); goto done; }
        hp->tied = json_object_get_boolean(tie);
    }
    int64_t id;
    hp->bos_id = 1; hp->eos_id = 361; hp->pad_id = 0;
    if (get_int(root, "bos_token_id", 0, hp->n_vocab - 1, &id) > 0) hp->bos_id = (int)id;
    if (get_int(root, "eos_token_id", 0, hp->n_vocab - 1, &id) > 0) hp->eos_id = (int)id;
    if (get_int(root, "pad_token_id", 0, hp->n_vocab - 1, &id) > 0) hp->pad_id = (int)id;
done:
    json_object_put(root);
    return st;
}

void exa_rope_inv_freq(const exa_hparams *hp, float *inv) {
    const int d = hp->head_dim;
    for (int i = 0; i < d / 2; i++) {
        /* HF: 1.0 / base ** (arange(0, d, 2).float() / d), in fp32 */
        float expo = (float)(2 * i) / (float)d;
        inv[i] = 1.0f / powf(hp->rope_theta, expo);
    }
    if (hp->rope_freq_factors) { /* GGUF rope_freqs.weight: llama.cpp divides theta by the factor */
        for (int i = 0; i < d / 2; i++) inv[i] /= hp->rope_freq_factors[i];
        return;
    }
    if (hp->rope_type != EXA_ROPE_LLAMA3) return;
    /* REF: spec §2.3 (transformers modeling_rope_utils._compute_llama3_parameters), fp32 math */
    const float f = hp->rope_factor, lo = hp->rope_low_freq, hi = hp->rope_high_freq, L = hp->rope_orig_ctx;
    const float low_wavelen = L / lo, high_wavelen = L / hi;
    for (int i = 0; i < d / 2; i++) {
        float wavelen = 2.0f * (float)M_PI / inv[i];
        float v = wavelen > low_wavelen ? inv[i] / f : inv[i];
        if (!(wavelen < high_wavelen) && !(wavelen > low_wavelen)) {
            float s = (L / wavelen - lo) / (hi - lo);
            v = (1.0f - s) * v / f + s * v;
        }
        inv[i] = v;
    }
}
