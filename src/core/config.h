/* config.h - vas's settings: defaults, the old service's config.yaml keys, then flags.
 * Accepted YAML keys (top-level scalars): DATABASE, DATA_FOLDER, DLC_MODELS,
 * clean_up_files_days, clean_up_analyses_days, CELERY_broker_url, result_backend (the old
 * service's, kept as they are) and vas's own HOST, PORT, WORKERS, MAX_CONTENT_LENGTH
 * (bytes, Flask's name), API_TOKEN, LOG_LEVEL and the LIMIT_* keys of config_limits. Unknown keys
 * are logged and ignored. Not: command-line parsing (main.c). Threads: filled in main before
 * threads start, read-only afterwards. */
#ifndef VAS_CONFIG_H
#define VAS_CONFIG_H

#include "core/err.h"

#include <stdint.h>

/* The resource limits (YAML keys in brackets; 0 switches a limit off where noted). Each refusal
 * is a 4xx JSON error (HTTP) or a FAILURE saying which limit (jobs). */
typedef struct config_limits {
    int connections;            /* [LIMIT_CONNECTIONS] open HTTP connections in all */
    int connections_per_client; /* [LIMIT_CONNECTIONS_PER_CLIENT] per client IP address */
    int64_t header_bytes;       /* [LIMIT_HEADER_BYTES] request line + headers */
    int form_fields;            /* [LIMIT_FORM_FIELDS] fields in one form or JSON object */
    int64_t json_bytes;         /* [LIMIT_JSON_BYTES] a JSON or form body (not uploads) */
    int json_depth;             /* [LIMIT_JSON_DEPTH] nesting of arrays/objects */
    int64_t archive_members;    /* [LIMIT_ARCHIVE_MEMBERS] entries in one zip/tar */
    int64_t archive_bytes;      /* [LIMIT_ARCHIVE_BYTES] an archive's expanded size */
    int64_t image_pixels;       /* [LIMIT_IMAGE_PIXELS] width x height of one image */
    int64_t video_pixels;       /* [LIMIT_VIDEO_PIXELS] width x height of a video frame */
    int64_t video_frames;       /* [LIMIT_VIDEO_FRAMES] frames of one video */
    int download_stall_s;       /* [LIMIT_DOWNLOAD_STALL_S] a client not reading is dropped */
    int64_t worker_memory;      /* [LIMIT_WORKER_MEMORY] bytes (RLIMIT_AS) per worker; 0: none */
    int64_t worker_cache;       /* [LIMIT_WORKER_CACHE] bytes of inputs a `vas worker --redis`
                                   keeps (least recently used go first); 0: none */
    int64_t worker_models;      /* [LIMIT_WORKER_MODELS] bytes of warm networks each worker
                                   process keeps between jobs (analyses/net_cache.h; least
                                   recently used go first); 0: none, every job loads its own */
} config_limits;

typedef struct config {
    char *path;        /* the YAML file loaded, or NULL (workers are given it again) */
    char *database;    /* SQLite file path ("sqlite:///" prefix stripped) */
    char *data_folder; /* blobs live in <data_folder>/files, temp files in /tmp */
    char *models_dir;  /* DLC_MODELS as a folder of model folders */
    /* DLC_MODELS as the old service's mapping {name: path/to/config.yaml}: n_model_map pairs */
    char **model_map_names, **model_map_paths;
    char **model_map_snapshots; /* NULL entries unless {config: PATH, snapshot: S} was given */
    int n_model_map;
    char *broker_url; /* CELERY_broker_url: kept for the Redis backend (not used yet) */
    char *result_backend;
    char *host;
    char *api_token; /* NULL or "": no auth */
    int port;
    int workers;                   /* worker processes; default 1 like the old Celery worker */
    int http_threads;              /* libmicrohttpd thread pool size */
    double clean_up_files_days;    /* <= 0: keep forever */
    double clean_up_analyses_days; /* <= 0: keep forever */
    int64_t max_upload;            /* bytes; requests over it get 413 */
    int log_level;
    config_limits lim; /* LIMIT_* keys: what one request or one input may cost */
} config;

/* Fills c with defaults (strings are new allocations; config_free releases them). */
int config_defaults(config *c, vas_err *e);
/* Overlays the YAML file at path onto c. Borrows path. */
int config_load_file(config *c, const char *path, vas_err *e);
/* Sets one key as if read from YAML (used by config_load_file and flags). */
int config_set(config *c, const char *key, const char *value, vas_err *e);
void config_free(config *c);

#endif
