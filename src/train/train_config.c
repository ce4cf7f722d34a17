/* train_config.c — reads and writes the model part of a Hugging Face config.json for training
 * (exaone4 keys, spec §1.2; exaone 3.x keys accepted too) into exa_tm_config. */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "train/train_model.h"

static int jget(json_object *o, const char *k, json_object **v) {
    return json_object_object_get_ex(o, k, v) && *v && !json_object_is_type(*v, json_type_null);
}

static exa_status jint(json_object *o, const char *k, int required, long lo, long hi, int *out,
                       const char *path, char *err, size_t errsz) {
    json_object *v;
    if (!jget(o, k, &v)) {
        if (required) return exa_err(err, errsz, EXA_ERR_CONFIG, "%s: missing \"%s\"", path, k);
        return EXA_OK;
    }
    if (!json_object_is_type(v, json_type_int))
        return exa_err(err, errsz, EXA_ERR_CONFIG, "%s: \"%s\" must be an integer", path, k);
    int64_t x = json_object_get_int64(v);
    if (x < lo || x > hi)
        return exa_err(err, errsz, EXA_ERR_CONFIG, "%s: \"%s\" = %lld is outside [%ld, %ld]", path, k,
                       (long long)x, lo, hi);
    *out = (int)x;
    return EXA_OK;
}

static exa_status jnum(json_object *o, const char *k, double lo, double hi, float *out, const char *path,
                       char *err, size_t errsz) {
    json_object *v;
    if (!jget(o, k, &v)) return EXA_OK;
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return exa_err(err, errsz, EXA_ERR_CONFIG, "%s: \"%s\" must be a number", path, k);
    double x = json_object_get_double(v);
    if (!(x >= lo && x <= hi))
        return exa_err(err, errsz, EXA_ERR_CONFIG, "%s: \"%s\" = %g is outside [%g, %g]", path, k, x, lo, hi);
    *out = (float)x;
    return EXA_OK;
}

#define TRY(x) do { exa_status st_ = (x); if (st_ != EXA_OK) { json_object_put(root); return st_; } } while (0)

exa_status exa_tm_config_parse(const char *json, const char *path, exa_tm_config *cfg, char *err, size_t errsz) {
    memset(cfg, 0, sizeof *cfg);
    json_tokener *tok = json_tokener_new();
    if (!tok) return exa_err(err, errsz, EXA_ERR_NOMEM, "%s: out of memory", path);
    json_object *root = json_tokener_parse_ex(tok, json, (int)strlen(json));
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success) {
        json_object_put(root);
        return exa_err(err, errsz, EXA_ERR_FORMAT, "%s: invalid JSON (%s)", path, json_tokener_error_desc(jerr));
    }
    if (!json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return exa_err(err, errsz, EXA_ERR_FORMAT, "%s: top level is not an object", path);
    }
    json_object *v;
    cfg->arch = EXA_ARCH_EXAONE4;
    if (jget(root, "model_type", &v)) {
        const char *mt = json_object_get_string(v);
        if (!strcmp(mt, "exaone4")) cfg->arch = EXA_ARCH_EXAONE4;
        else if (!strcmp(mt, "exaone")) cfg->arch = EXA_ARCH_EXAONE;
        else {
            exa_err(err, errsz, EXA_ERR_UNSUPPORTED, "%s: model_type \"%s\" is not exaone4 or exaone", path, mt);
            json_object_put(root);
            return EXA_ERR_UNSUPPORTED;
        }
    }
    int is4 = cfg->arch == EXA_ARCH_EXAONE4;
    TRY(jint(root, "hidden_size", 1, 2, 65536, &cfg->dim, path, err, errsz));
    TRY(jint(root, is4 ? "num_hidden_layers" : "num_layers", 0, 1, EXA_TM_MAX_LAYERS, &cfg->n_layer, path, err, errsz));
    if (!cfg->n_layer) TRY(jint(root, "num_hidden_layers", 1, 1, EXA_TM_MAX_LAYERS, &cfg->n_layer, path, err, errsz));
    TRY(jint(root, "num_attention_heads", 1, 1, 1024, &cfg->n_head, path, err, errsz));
    cfg->n_kv = cfg->n_head;
    TRY(jint(root, "num_key_value_heads", 0, 1, 1024, &cfg->n_kv, path, err, errsz));
    cfg->head_dim = cfg->dim / cfg->n_head;
    if (is4) TRY(jint(root, "head_dim", 0, 2, 1024, &cfg->head_dim, path, err, errsz));
    TRY(jint(root, "intermediate_size", 1, 1, 1 << 20, &cfg->ffn, path, err, errsz));
    TRY(jint(root, "vocab_size", 1, 2, 1 << 22, &cfg->vocab, path, err, errsz));
    cfg->max_pos = 2048;
    TRY(jint(root, "max_position_embeddings", 0, 1, 1 << 24, &cfg->max_pos, path, err, errsz));
    cfg->rope_theta = 10000.0f;
    TRY(jnum(root, "rope_theta", 1.0, 1e12, &cfg->rope_theta, path, err, errsz));
    cfg->eps = 1e-5f;
    TRY(jnum(root, is4 ? "rms_norm_eps" : "layer_norm_epsilon", 1e-12, 1.0, &cfg->eps, path, err, errsz));
    cfg->init_std = 0.02f;
    TRY(jnum(root, "initializer_range", 0.0, 10.0, &cfg->init_std, path, err, errsz));
    cfg->tie = 1; /* absent means tied, as the engine reads it (src/model/config.c; spec pitfall 7) */
    if (jget(root, "tie_word_embeddings", &v)) cfg->tie = json_object_get_boolean(v);
    cfg->bos_id = 1; cfg->eos_id = 361; cfg->pad_id = 0;
    TRY(jint(root, "bos_token_id", 0, 0, INT32_MAX, &cfg->bos_id, path, err, errsz));
    TRY(jint(root, "eos_token_id", 0, 0, INT32_MAX, &cfg->eos_id, path, err, errsz));
    TRY(jint(root, "pad_token_id", 0, 0, INT32_MAX, &cfg->pad_id, path, err, errsz));
    /* rope scaling: rope_scaling (<= 4.5x) or rope_parameters (v5) */
    json_object *rs = NULL;
    if (!jget(root, "rope_scaling", &rs)) rs = NULL;
    if (!rs && jget(root, "rope_parameters", &rs)) TRY(jnum(rs, "rope_theta", 1.0, 1e12, &cfg->rope_theta, path, err, errsz));
    if (rs) {
        const char *type = NULL;
        if (jget(rs, "rope_type", &v) || jget(rs, "type", &v)) type = json_object_get_string(v);
        if (type && !strcmp(type, "llama3")) {
            cfg->rope_llama3 = 1;
            cfg->rope_factor = 8.0f; cfg->rope_low = 1.0f; cfg->rope_high = 4.0f; cfg->rope_orig_max = 8192;
            TRY(jnum(rs, "factor", 1.0, 1e6, &cfg->rope_factor, path, err, errsz));
            TRY(jnum(rs, "low_freq_factor", 1e-6, 1e6, &cfg->rope_low, path, err, errsz));
            TRY(jnum(rs, "high_freq_factor", 1e-6, 1e6, &cfg->rope_high, path, err, errsz));
            TRY(jint(rs, "original_max_position_embeddings", 0, 1, 1 << 24, &cfg->rope_orig_max, path, err, errsz));
            if (!(cfg->rope_high > cfg->rope_low)) {
                json_object_put(root);
                return exa_err(err, errsz, EXA_ERR_CONFIG, "%s: rope high_freq_factor must exceed low_freq_factor", path);
            }
        } else if (type && strcmp(type, "default")) {
            exa_err(err, errsz, EXA_ERR_UNSUPPORTED, "%s: rope type \"%s\" is not supported (llama3 or default)", path, type);
            json_object_put(root);
            return EXA_ERR_UNSUPPORTED;
        }
    }
    if (is4) {
        /* spec §1.2 / HF Exaone4Config: an absent sliding_window means 4096 and an absent pattern 4;
         * an explicit null window means none (same rules as the engine's src/model/config.c) */
        json_object *tmp;
        cfg->sliding_window = json_object_object_get_ex(root, "sliding_window", &tmp) ? 0 : 4096;
        TRY(jint(root, "sliding_window", 0, 1, 1 << 24, &cfg->sliding_window, path, err, errsz));
        json_object *lt;
        int pat_present = json_object_object_get_ex(root, "sliding_window_pattern", &tmp);
        if (jget(root, "layer_types", &lt)) {
            if (!json_object_is_type(lt, json_type_array) || (int)json_object_array_length(lt) != cfg->n_layer) {
                json_object_put(root);
                return exa_err(err, errsz, EXA_ERR_CONFIG, "%s: layer_types must list %d entries", path, cfg->n_layer);
            }
            for (int l = 0; l < cfg->n_layer; l++) {
                const char *s = json_object_get_string(json_object_array_get_idx(lt, (size_t)l));
                if (s && !strcmp(s, "sliding_attention")) cfg->sliding[l] = 1;
                else if (s && !strcmp(s, "full_attention")) cfg->sliding[l] = 0;
                else {
                    json_object_put(root);
                    return exa_err(err, errsz, EXA_ERR_CONFIG, "%s: layer_types[%d] is not sliding_attention/full_attention", path, l);
                }
            }
            cfg->has_layer_types = 1;
        } else if (cfg->sliding_window && jget(root, "sliding_window_pattern", &v)) {
            if (json_object_is_type(v, json_type_int)) {
                int64_t p = json_object_get_int64(v);
                if (p < 1 || p > 1024) { json_object_put(root); return exa_err(err, errsz, EXA_ERR_CONFIG, "%s: sliding_window_pattern must be in [1, 1024]", path); }
                for (int l = 0; l < cfg->n_layer; l++) cfg->sliding[l] = (l + 1) % p != 0;
            } else if (json_object_is_type(v, json_type_string)) {
                const char *p = json_object_get_string(v);
                size_t n = strlen(p);
                int ok = n > 0 && n <= 1024;
                for (size_t i = 0; ok && i < n; i++) ok = p[i] == 'L' || p[i] == 'G';
                if (!ok) { json_object_put(root); return exa_err(err, errsz, EXA_ERR_CONFIG, "%s: sliding_window_pattern must be 1..1024 chars of L/G", path); }
                for (int l = 0; l < cfg->n_layer; l++) cfg->sliding[l] = p[(size_t)l % n] == 'L';
            } else {
                json_object_put(root);
                return exa_err(err, errsz, EXA_ERR_CONFIG, "%s: sliding_window_pattern must be an integer, a string or null", path);
            }
            cfg->has_layer_types = 1;
        } else if (cfg->sliding_window && pat_present) {
            json_object_put(root);
            return exa_err(err, errsz, EXA_ERR_CONFIG, "%s: sliding_window is set but sliding_window_pattern is null and layer_types is missing", path);
        } else if (cfg->sliding_window) {
            for (int l = 0; l < cfg->n_layer; l++) cfg->sliding[l] = (l + 1) % 4 != 0;
        }
        int any = 0;
        for (int l = 0; l < cfg->n_layer; l++) any |= cfg->sliding[l];
        if (any && !cfg->sliding_window) {
            json_object_put(root);
            return exa_err(err, errsz, EXA_ERR_CONFIG, "%s: layers marked sliding_attention but sliding_window is null", path);
        }
        cfg->window_cfg = cfg->sliding_window;
        if (!any) cfg->sliding_window = 0; /* a window no layer uses (RoPE still follows window_cfg) */
    }
    json_object_put(root);
    if (cfg->n_head % cfg->n_kv)
        return exa_err(err, errsz, EXA_ERR_CONFIG, "%s: num_attention_heads %d is not a multiple of num_key_value_heads %d", path, cfg->n_head, cfg->n_kv);
    if (cfg->head_dim % 2)
        return exa_err(err, errsz, EXA_ERR_CONFIG, "%s: head_dim %d must be even for RoPE", path, cfg->head_dim);
    if (!is4 && cfg->head_dim * cfg->n_head != cfg->dim)
        return exa_err(err, errsz, EXA_ERR_CONFIG, "%s: hidden_size must equal heads x head_dim for exaone", path);
    return EXA_OK;
}

int exa_tm_layer_rope(const exa_tm_config *cfg, int l) {
    if (cfg->arch != EXA_ARCH_EXAONE4) return 1;
    return cfg->window_cfg == 0 || cfg->sliding[l];
}

static void jset(json_object *o, const char *k, json_object *v) { json_object_object_add(o, k, v); }

/* a float-valued key written with the shortest decimal that reads back as the same float
 * (so 1e-05 stays "1e-05", not 9.9999997473787516e-06) */
static json_object *jfloat(float f) {
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        if ((float)strtod(buf, NULL) == f) break;
    }
    double v = strtod(buf, NULL);
    if (!strpbrk(buf, ".e")) strcat(buf, ".0"); /* 1000000 -> 1000000.0 like Python */
    return json_object_new_double_s(v, buf);
}

char *exa_tm_config_to_json(const exa_tm_config *c, const char *torch_dtype) {
    int is4 = c->arch == EXA_ARCH_EXAONE4;
    json_object *o = json_object_new_object();
    json_object *arch = json_object_new_array();
    json_object_array_add(arch, json_object_new_string(is4 ? "Exaone4ForCausalLM" : "ExaoneForCausalLM"));
    jset(o, "architectures", arch);
    if (!is4) jset(o, "activation_function", json_object_new_string("silu"));
    jset(o, "attention_dropout", json_object_new_double(0.0));
    jset(o, "bos_token_id", json_object_new_int(c->bos_id));
    if (!is4) jset(o, "embed_dropout", json_object_new_double(0.0));
    jset(o, "eos_token_id", json_object_new_int(c->eos_id));
    jset(o, "head_dim", json_object_new_int(c->head_dim));
    if (is4) jset(o, "hidden_act", json_object_new_string("silu"));
    jset(o, "hidden_size", json_object_new_int(c->dim));
    jset(o, "initializer_range", jfloat(c->init_std));
    jset(o, "intermediate_size", json_object_new_int(c->ffn));
    if (!is4) jset(o, "layer_norm_epsilon", jfloat(c->eps));
    if (is4) {
        json_object *lt = json_object_new_array();
        for (int l = 0; l < c->n_layer; l++)
            json_object_array_add(lt, json_object_new_string(c->sliding[l] ? "sliding_attention" : "full_attention"));
        jset(o, "layer_types", lt);
    }
    jset(o, "max_position_embeddings", json_object_new_int(c->max_pos));
    jset(o, "model_type", json_object_new_string(is4 ? "exaone4" : "exaone"));
    jset(o, "num_attention_heads", json_object_new_int(c->n_head));
    jset(o, is4 ? "num_hidden_layers" : "num_layers", json_object_new_int(c->n_layer));
    jset(o, "num_key_value_heads", json_object_new_int(c->n_kv));
    jset(o, "pad_token_id", json_object_new_int(c->pad_id));
    if (is4) jset(o, "rms_norm_eps", jfloat(c->eps));
    if (c->rope_llama3) {
        json_object *rs = json_object_new_object();
        jset(rs, "factor", jfloat(c->rope_factor));
        jset(rs, "high_freq_factor", jfloat(c->rope_high));
        jset(rs, "low_freq_factor", jfloat(c->rope_low));
        jset(rs, "original_max_position_embeddings", json_object_new_int(c->rope_orig_max));
        jset(rs, "rope_type", json_object_new_string("llama3"));
        jset(o, "rope_scaling", rs);
    } else {
        jset(o, "rope_scaling", NULL);
    }
    jset(o, "rope_theta", jfloat(c->rope_theta));
    if (is4) {
        jset(o, "sliding_window", c->window_cfg ? json_object_new_int(c->window_cfg) : NULL);
        int any = 0;
        for (int l = 0; l < c->n_layer; l++) any |= c->sliding[l];
        if (!any) jset(o, "sliding_window_pattern", NULL);
    }
    jset(o, "tie_word_embeddings", json_object_new_boolean(c->tie));
    jset(o, "torch_dtype", json_object_new_string(torch_dtype));
    jset(o, "transformers_version", json_object_new_string("4.54.0"));
    jset(o, "use_cache", json_object_new_boolean(1));
    jset(o, "vocab_size", json_object_new_int(c->vocab));
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *out = s ? strdup(s) : NULL;
    json_object_put(o);
    return out;
}
