/* config.c - defaults, YAML overlay (libyaml event parser) and key setting.
 * The YAML is read as a flat mapping of scalars: that is all the old config.yaml held.
 * Nested values under unknown keys are skipped whole. */
#include "core/config.h"

#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

static int set_str(char **slot, const char *v, vas_err *e)
{
    char *s = strdup(v);

    if (!s)
        return err_set(e, VAS_ENOMEM, "out of memory reading the configuration");
    free(*slot);
    *slot = s;
    return VAS_OK;
}

int config_defaults(config *c, vas_err *e)
{
    memset(c, 0, sizeof(*c));
    c->port = 5000;
    c->workers = 1;
    c->http_threads = 2;
    c->max_upload = (int64_t)16 << 30; /* 16 GiB: lab videos are big */
    c->log_level = LOG_INFO;
    c->lim = (config_limits){
        .connections = 1024,
        .connections_per_client = 64,
        .header_bytes = 16 << 10,
        .form_fields = 64,
        .json_bytes = 1 << 20,
        .json_depth = 32,
        .archive_members = 100000,
        .archive_bytes = (int64_t)64 << 30,
        .image_pixels = 178956970, /* Pillow's decompression-bomb error threshold */
        .video_pixels = (int64_t)8192 * 8192,
        .video_frames = 50000000, /* 9.6 days at 60 frames/s */
        .download_stall_s = 60,
        .worker_memory = 0,
        .worker_cache = (int64_t)20 << 30,
        .worker_models = (int64_t)2 << 30,
    };
    if (set_str(&c->database, "var/vas.db", e) < 0 || set_str(&c->data_folder, "var/data", e) < 0 ||
        set_str(&c->models_dir, "models", e) < 0 || set_str(&c->host, "127.0.0.1", e) < 0)
        return VAS_ENOMEM;
    return VAS_OK;
}

void config_free(config *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n_model_map; i++) {
        free(c->model_map_names[i]);
        free(c->model_map_paths[i]);
        free(c->model_map_snapshots[i]);
    }
    free(c->model_map_names);
    free(c->model_map_paths);
    free(c->model_map_snapshots);
    free(c->path);
    free(c->database);
    free(c->data_folder);
    free(c->models_dir);
    free(c->broker_url);
    free(c->result_backend);
    free(c->host);
    free(c->api_token);
    memset(c, 0, sizeof(*c));
}

static int set_int(int *slot, const char *key, const char *v, int lo, int hi, vas_err *e)
{
    int64_t n;

    if (util_parse_i64(v, &n) < 0 || n < lo || n > hi)
        return err_set(e, VAS_EINVAL, "%s must be a whole number from %d to %d, not '%s'", key, lo,
                       hi, v);
    *slot = (int)n;
    return VAS_OK;
}

static int set_days(double *slot, const char *key, const char *v, vas_err *e)
{
    double d;

    if (util_parse_double(v, &d) < 0)
        return err_set(e, VAS_EINVAL, "%s must be a number of days, not '%s'", key, v);
    *slot = d;
    return VAS_OK;
}

static int set_i64(int64_t *slot, const char *key, const char *v, int64_t lo, vas_err *e)
{
    int64_t n;

    if (util_parse_i64(v, &n) < 0 || n < lo)
        return err_set(e, VAS_EINVAL, "%s must be a whole number of at least %lld, not '%s'", key,
                       (long long)lo, v);
    *slot = n;
    return VAS_OK;
}

/* The LIMIT_* keys: 1 when key is not one of them. */
static int set_limit(config_limits *l, const char *key, const char *v, vas_err *e)
{
    static const struct {
        const char *key;
        size_t off;
        int is_int;
        int64_t lo;
    } keys[] = {
        {"LIMIT_CONNECTIONS", offsetof(config_limits, connections), 1, 1},
        {"LIMIT_CONNECTIONS_PER_CLIENT", offsetof(config_limits, connections_per_client), 1, 1},
        {"LIMIT_HEADER_BYTES", offsetof(config_limits, header_bytes), 0, 1024},
        {"LIMIT_FORM_FIELDS", offsetof(config_limits, form_fields), 1, 1},
        {"LIMIT_JSON_BYTES", offsetof(config_limits, json_bytes), 0, 1024},
        {"LIMIT_JSON_DEPTH", offsetof(config_limits, json_depth), 1, 2},
        {"LIMIT_ARCHIVE_MEMBERS", offsetof(config_limits, archive_members), 0, 1},
        {"LIMIT_ARCHIVE_BYTES", offsetof(config_limits, archive_bytes), 0, 1},
        {"LIMIT_IMAGE_PIXELS", offsetof(config_limits, image_pixels), 0, 1},
        {"LIMIT_VIDEO_PIXELS", offsetof(config_limits, video_pixels), 0, 1},
        {"LIMIT_VIDEO_FRAMES", offsetof(config_limits, video_frames), 0, 1},
        {"LIMIT_DOWNLOAD_STALL_S", offsetof(config_limits, download_stall_s), 1, 1},
        {"LIMIT_WORKER_MEMORY", offsetof(config_limits, worker_memory), 0, 0},
        {"LIMIT_WORKER_CACHE", offsetof(config_limits, worker_cache), 0, 0},
        {"LIMIT_WORKER_MODELS", offsetof(config_limits, worker_models), 0, 0},
    };

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char *slot = (char *)l + keys[i].off;
        if (strcmp(key, keys[i].key) != 0)
            continue;
        if (keys[i].is_int)
            return set_int((int *)(void *)slot, key, v, (int)keys[i].lo, 1 << 30, e);
        return set_i64((int64_t *)(void *)slot, key, v, keys[i].lo, e);
    }
    return 1;
}

int config_set(config *c, const char *key, const char *v, vas_err *e)
{
    int rc;

    if (strcmp(key, "DATABASE") == 0) {
        /* The old service held an SQLAlchemy URL; a plain path is also fine. */
        if (strncmp(v, "sqlite:///", 10) == 0)
            v += 10;
        return set_str(&c->database, v, e);
    }
    if (strcmp(key, "DATA_FOLDER") == 0)
        return set_str(&c->data_folder, v, e);
    if (strcmp(key, "DLC_MODELS") == 0)
        return set_str(&c->models_dir, v, e);
    if (strcmp(key, "CELERY_broker_url") == 0)
        return set_str(&c->broker_url, v, e);
    if (strcmp(key, "result_backend") == 0)
        return set_str(&c->result_backend, v, e);
    if (strcmp(key, "HOST") == 0)
        return set_str(&c->host, v, e);
    if (strcmp(key, "API_TOKEN") == 0)
        return set_str(&c->api_token, v, e);
    if (strcmp(key, "PORT") == 0)
        return set_int(&c->port, key, v, 0, 65535, e);
    if (strcmp(key, "WORKERS") == 0)
        return set_int(&c->workers, key, v, 0, 256, e);
    if (strcmp(key, "HTTP_THREADS") == 0)
        return set_int(&c->http_threads, key, v, 1, 256, e);
    if (strcmp(key, "clean_up_files_days") == 0)
        return set_days(&c->clean_up_files_days, key, v, e);
    if (strcmp(key, "clean_up_analyses_days") == 0)
        return set_days(&c->clean_up_analyses_days, key, v, e);
    if (strcmp(key, "MAX_CONTENT_LENGTH") == 0) {
        int64_t n;
        if (util_parse_i64(v, &n) < 0 || n <= 0)
            return err_set(e, VAS_EINVAL,
                           "MAX_CONTENT_LENGTH must be a positive number of bytes, "
                           "not '%s'",
                           v);
        c->max_upload = n;
        return VAS_OK;
    }
    if (strcmp(key, "LOG_LEVEL") == 0) {
        int l = log_level_parse(v);
        if (l < 0)
            return err_set(e, VAS_EINVAL, "LOG_LEVEL must be error, warn, info or debug, not '%s'",
                           v);
        c->log_level = l;
        return VAS_OK;
    }
    if ((rc = set_limit(&c->lim, key, v, e)) <= 0)
        return rc;
    log_warn("config", "event=unknown_key key=%s", key);
    return VAS_OK;
}

/* Skips one node (scalar, or a whole sequence/mapping) after its first event. */
static int skip_node(yaml_parser_t *p, yaml_event_t *first)
{
    int depth = 0;
    yaml_event_t ev;

    if (first->type == YAML_SEQUENCE_START_EVENT || first->type == YAML_MAPPING_START_EVENT)
        depth = 1;
    while (depth > 0) {
        if (!yaml_parser_parse(p, &ev))
            return -1;
        if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT)
            depth++;
        else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT)
            depth--;
        yaml_event_delete(&ev);
    }
    return 0;
}

static int add_model(config *c, const char *name, const char *path, const char *snapshot,
                     vas_err *e)
{
    int n = c->n_model_map;
    char **names = realloc(c->model_map_names, (size_t)(n + 1) * sizeof(char *));
    char **paths = names ? realloc(c->model_map_paths, (size_t)(n + 1) * sizeof(char *)) : NULL;
    char **snaps = paths ? realloc(c->model_map_snapshots, (size_t)(n + 1) * sizeof(char *)) : NULL;

    if (names)
        c->model_map_names = names;
    if (paths)
        c->model_map_paths = paths;
    if (snaps)
        c->model_map_snapshots = snaps;
    if (!names || !paths || !snaps)
        return err_set(e, VAS_ENOMEM, "out of memory reading DLC_MODELS");
    c->model_map_names[n] = strdup(name);
    c->model_map_paths[n] = strdup(path);
    c->model_map_snapshots[n] = snapshot ? strdup(snapshot) : NULL;
    c->n_model_map = n + 1;
    if (!c->model_map_names[n] || !c->model_map_paths[n] || (snapshot && !snaps[n]))
        return err_set(e, VAS_ENOMEM, "out of memory reading DLC_MODELS");
    return VAS_OK;
}

/* One model's settings, {config: PATH, snapshot: S} (after its start event). */
static int parse_model_entry(config *c, yaml_parser_t *p, const char *path, const char *name,
                             vas_err *e)
{
    char *cfg = NULL, *snap = NULL;
    yaml_event_t k, v;
    int rc = VAS_OK;

    for (;;) {
        if (!yaml_parser_parse(p, &k)) {
            rc = err_set(e, VAS_EINVAL, "%s: YAML error in DLC_MODELS", path);
            break;
        }
        if (k.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&k);
            break;
        }
        if (!yaml_parser_parse(p, &v)) {
            yaml_event_delete(&k);
            rc = err_set(e, VAS_EINVAL, "%s: YAML error in DLC_MODELS", path);
            break;
        }
        if (k.type != YAML_SCALAR_EVENT || v.type != YAML_SCALAR_EVENT)
            rc = err_set(e, VAS_EINVAL, "%s: DLC_MODELS: %s: settings must be plain values", path,
                         name);
        else if (!strcmp((char *)k.data.scalar.value, "config") ||
                 !strcmp((char *)k.data.scalar.value, "path")) {
            free(cfg);
            cfg = strdup((char *)v.data.scalar.value);
        } else if (!strcmp((char *)k.data.scalar.value, "snapshot")) {
            free(snap);
            snap = strdup((char *)v.data.scalar.value);
        } else
            rc = err_set(e, VAS_EINVAL,
                         "%s: DLC_MODELS: %s: unknown setting '%.60s' (config, snapshot)", path,
                         name, (char *)k.data.scalar.value);
        yaml_event_delete(&k);
        yaml_event_delete(&v);
        if (rc < 0)
            break;
    }
    if (rc == VAS_OK && !cfg)
        rc = err_set(e, VAS_EINVAL, "%s: DLC_MODELS: %s needs a config (the model's path)", path,
                     name);
    if (rc == VAS_OK)
        rc = add_model(c, name, cfg, snap, e);
    free(cfg);
    free(snap);
    return rc;
}

/* DLC_MODELS: {name: path/to/config.yaml, ...}, the old service's form (after its start event). */
static int parse_model_map(config *c, yaml_parser_t *p, const char *path, vas_err *e)
{
    yaml_event_t k, v;
    int rc = VAS_OK;

    for (;;) {
        if (!yaml_parser_parse(p, &k))
            return err_set(e, VAS_EINVAL, "%s: YAML error in DLC_MODELS", path);
        if (k.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&k);
            return rc;
        }
        if (!yaml_parser_parse(p, &v)) {
            yaml_event_delete(&k);
            return err_set(e, VAS_EINVAL, "%s: YAML error in DLC_MODELS", path);
        }
        if (k.type == YAML_SCALAR_EVENT && v.type == YAML_MAPPING_START_EVENT)
            rc = parse_model_entry(c, p, path, (const char *)k.data.scalar.value, e);
        else if (k.type != YAML_SCALAR_EVENT || v.type != YAML_SCALAR_EVENT)
            rc = err_set(e, VAS_EINVAL, "%s: DLC_MODELS must map model names to config.yaml paths",
                         path);
        else if (rc == VAS_OK)
            rc = add_model(c, (const char *)k.data.scalar.value, (const char *)v.data.scalar.value,
                           NULL, e);
        yaml_event_delete(&k);
        yaml_event_delete(&v);
        if (rc < 0)
            return rc;
    }
}

static int parse_mapping(config *c, yaml_parser_t *p, const char *path, vas_err *e)
{
    yaml_event_t k, v;
    int rc;

    for (;;) {
        if (!yaml_parser_parse(p, &k))
            return err_set(e, VAS_EINVAL, "%s: YAML error at line %zu: %s", path,
                           p->problem_mark.line + 1, p->problem ? p->problem : "unknown");
        if (k.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&k);
            return VAS_OK;
        }
        if (k.type != YAML_SCALAR_EVENT) {
            yaml_event_delete(&k);
            return err_set(e, VAS_EINVAL, "%s: keys must be plain names", path);
        }
        if (!yaml_parser_parse(p, &v)) {
            yaml_event_delete(&k);
            return err_set(e, VAS_EINVAL, "%s: YAML error at line %zu: %s", path,
                           p->problem_mark.line + 1, p->problem ? p->problem : "unknown");
        }
        if (v.type == YAML_MAPPING_START_EVENT &&
            strcmp((const char *)k.data.scalar.value, "DLC_MODELS") == 0) {
            rc = parse_model_map(c, p, path, e);
        } else if (v.type == YAML_SCALAR_EVENT) {
            rc = config_set(c, (const char *)k.data.scalar.value, (const char *)v.data.scalar.value,
                            e);
        } else {
            log_warn("config", "event=skip_nested_key key=%s", (const char *)k.data.scalar.value);
            rc = skip_node(p, &v) < 0 ? err_set(e, VAS_EINVAL, "%s: bad YAML", path) : VAS_OK;
        }
        yaml_event_delete(&k);
        yaml_event_delete(&v);
        if (rc < 0)
            return rc;
    }
}

int config_load_file(config *c, const char *path, vas_err *e)
{
    yaml_parser_t p;
    yaml_event_t ev;
    FILE *f = fopen(path, "rb");
    int rc = VAS_OK;

    if (!f)
        return err_sys(e, VAS_EINVAL, errno, "cannot open config file %s", path);
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    for (;;) {
        if (!yaml_parser_parse(&p, &ev)) {
            rc = err_set(e, VAS_EINVAL, "%s: YAML error at line %zu: %s", path,
                         p.problem_mark.line + 1, p.problem ? p.problem : "unknown");
            break;
        }
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (ev.type == YAML_MAPPING_START_EVENT) {
            yaml_event_delete(&ev);
            rc = parse_mapping(c, &p, path, e);
            if (rc < 0)
                break;
            continue;
        }
        if (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_SEQUENCE_START_EVENT) {
            yaml_event_delete(&ev);
            rc = err_set(e, VAS_EINVAL, "%s: the top level must be a mapping of keys", path);
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    fclose(f);
    if (rc == VAS_OK && set_str(&c->path, path, e) < 0)
        return VAS_ENOMEM;
    return rc;
}
