/* model_locate.c - see model_locate.h. The rules follow DeepLabCut's code:
 * auxiliaryfunctions.get_model_folder (folder names), data/snapshots.py list_snapshots (snapshot
 * names and order), apis/export.py (export folder and file names). */
#include "model/model_locate.h"

#include "core/ydoc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_SNAPSHOTS 1024

static int is_dir(const char *p)
{
    struct stat sb;

    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int is_file(const char *p)
{
    struct stat sb;

    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* printf into a path buffer; <0 (message in e) when it does not fit. */
static int pathf(char *out, size_t n, vas_err *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int pathf(char *out, size_t n, vas_err *e, const char *fmt, ...)
{
    va_list ap;
    int k;

    va_start(ap, fmt);
    k = vsnprintf(out, n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= n)
        return err_set(e, VAS_EINVAL, "path too long: %.200s...", out);
    return VAS_OK;
}

static int path_join(char *out, size_t n, const char *a, const char *b, vas_err *e)
{
    if ((size_t)snprintf(out, n, "%s/%s", a, b) >= n)
        return err_set(e, VAS_EINVAL, "path too long: %.200s/%.200s", a, b);
    return VAS_OK;
}

const char *model_kind_name(int kind)
{
    switch (kind) {
    case MODEL_ONNX:
        return "onnx";
    case MODEL_DLC3_SNAPSHOT:
        return "dlc3-snapshot";
    case MODEL_DLC3_EXPORT:
        return "dlc3-export";
    case MODEL_DLC2_EXPORT:
        return "dlc2-export";
    default:
        return "unknown";
    }
}

/* ---------------------------------------------------------------------------------------------
 * Folder listings
 * ------------------------------------------------------------------------------------------- */
typedef int (*name_pred)(const char *name);

/* How many entries of dir match pred; the first one (in name order) into first[n]. */
static int count_matching(const char *dir, name_pred pred, char *first, size_t n)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int count = 0;

    if (first && n)
        first[0] = '\0';
    if (!d)
        return 0;
    while ((de = readdir(d))) { /* NOLINT(concurrency-mt-unsafe): this DIR is ours */
        if (!pred(de->d_name))
            continue;
        if (first && (count == 0 || strcmp(de->d_name, first) < 0))
            snprintf(first, n, "%s", de->d_name);
        count++;
    }
    closedir(d);
    return count;
}

static int is_onnx(const char *s)
{
    return ends_with(s, ".onnx");
}

/* A frozen graph: DeepLabCut names it snapshot-<iteration>.pb; DeepLabCut-Live takes any .pb. */
static int is_pb(const char *s)
{
    return ends_with(s, ".pb");
}

static int is_pt(const char *s)
{
    return ends_with(s, ".pt") || ends_with(s, ".pth");
}

static int is_tf_ckpt(const char *s)
{
    return strncmp(s, "snapshot-", 9) == 0 && (ends_with(s, ".index") || ends_with(s, ".meta"));
}

/* ---------------------------------------------------------------------------------------------
 * DLC 3 snapshots: ^snapshot(-best)?-\d+\.pt$, sorted by (best last, epochs)
 * ------------------------------------------------------------------------------------------- */
typedef struct snap {
    int best;
    long epochs;
    char name[256];
} snap;

/* Parses a snapshot file name; 0 if it is one. */
static int parse_snapshot(const char *name, snap *s)
{
    const char *p = name;
    char *end;

    if (strncmp(p, "snapshot-", 9) != 0 || strlen(name) >= sizeof(s->name))
        return -1;
    p += 9;
    s->best = strncmp(p, "best-", 5) == 0;
    if (s->best)
        p += 5;
    if (!isdigit((unsigned char)*p))
        return -1;
    errno = 0;
    s->epochs = strtol(p, &end, 10);
    if (errno || strcmp(end, ".pt") != 0)
        return -1;
    snprintf(s->name, sizeof(s->name), "%s", name);
    return 0;
}

static int cmp_snap(const void *a, const void *b)
{
    const snap *x = a, *y = b;

    if (x->best != y->best)
        return x->best - y->best;
    return (x->epochs > y->epochs) - (x->epochs < y->epochs);
}

static void snap_uid(const snap *s, char *out, size_t n)
{
    snprintf(out, n, "%s%ld", s->best ? "best-" : "", s->epochs);
}

/* Which of the sorted snapshots `want` names: "best", an epoch, a file name; -1 if none. */
static int snap_pick(const snap *s, int n, const char *want)
{
    long ep;
    char *end;

    for (int i = 0; i < n; i++)
        if (strcmp(s[i].name, want) == 0)
            return i;
    if (strcmp(want, "best") == 0)
        return n > 0 && s[n - 1].best ? n - 1 : -1;
    if (strncmp(want, "best-", 5) == 0)
        want += 5;
    errno = 0;
    ep = strtol(want, &end, 10);
    if (errno || end == want || *end)
        return -1;
    for (int i = n - 1; i >= 0; i--) /* the best one last: "8" finds best-8 if that is all */
        if (s[i].epochs == ep)
            return i;
    return -1;
}

static int list_snapshots(const char *dir, snap *s, int *n)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    *n = 0;
    if (!d)
        return -1;
    while ((de = readdir(d)) && *n < MAX_SNAPSHOTS) /* NOLINT(concurrency-mt-unsafe): ours */
        if (parse_snapshot(de->d_name, &s[*n]) == 0)
            (*n)++;
    closedir(d);
    qsort(s, (size_t)*n, sizeof(*s), cmp_snap);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * The project's config.yaml: the keys that find its model
 * ------------------------------------------------------------------------------------------- */
typedef struct project {
    char task[128], date[64];
    long iteration;
    double train_fraction; /* TrainingFraction[0] */
    int multianimal;
    int engine_tf;      /* engine: tensorflow */
    long snapshotindex; /* -1 = DLC's default; "all" reads as -1 too */
} project;

static int read_project(const char *path, project *p, vas_err *e)
{
    yaml_document_t d;
    yaml_node_t *root, *tf;
    const char *s;
    double v;
    int rc = ydoc_load(path, &d, e);

    if (rc < 0)
        return rc;
    memset(p, 0, sizeof(*p));
    root = yaml_document_get_root_node(&d);
    snprintf(p->task, sizeof(p->task), "%s", (s = ydoc_str(&d, root, "Task")) ? s : "");
    snprintf(p->date, sizeof(p->date), "%s", (s = ydoc_str(&d, root, "date")) ? s : "");
    p->iteration = ydoc_num_at(&d, root, "iteration", 0, &v) == 0 ? (long)v : 0;
    p->snapshotindex = ydoc_num_at(&d, root, "snapshotindex", -1, &v) == 0 ? (long)v : -1;
    s = ydoc_str(&d, root, "multianimalproject");
    p->multianimal = s && (!strcasecmp(s, "true") || !strcasecmp(s, "yes"));
    s = ydoc_str(&d, root, "engine");
    p->engine_tf = s && !strcasecmp(s, "tensorflow");
    p->train_fraction = 0.95;
    tf = ydoc_get(&d, root, "TrainingFraction");
    if (tf && tf->type == YAML_SEQUENCE_NODE &&
        tf->data.sequence.items.top > tf->data.sequence.items.start)
        ydoc_num(yaml_document_get_node(&d, tf->data.sequence.items.start[0]), &p->train_fraction);
    yaml_document_delete(&d);
    if (!p->task[0])
        return err_set(e, VAS_EINVAL, "%s is not a DeepLabCut project config.yaml (no Task)", path);
    if (p->multianimal)
        return err_set(e, VAS_EUNSUPPORTED,
                       "%s is a multi-animal project (multianimalproject: true): vas runs "
                       "single-animal models only",
                       path);
    return VAS_OK;
}

/* config.yaml of the project `levels` folders above dir, into out if it exists. */
static void project_above(const char *dir, int levels, char *out, size_t n)
{
    char p[MODEL_PATH_MAX];
    size_t k = (size_t)snprintf(p, sizeof(p), "%s", dir);

    out[0] = '\0';
    for (int i = 0; i < levels && k < sizeof(p) - 4; i++)
        k += (size_t)snprintf(p + k, sizeof(p) - k, "/..");
    if (k < sizeof(p) - 13) {
        snprintf(p + k, sizeof(p) - k, "/config.yaml");
        if (is_file(p))
            snprintf(out, n, "%s", p);
    }
}

int model_parse_shuffle_dir(const char *path, char *buf, size_t n, int *shuffle)
{
    /* the last path component of the form <taskdate>-trainset<digits>shuffle<digits> */
    const char *end = path + strlen(path), *start;

    while (end > path) {
        const char *t, *sh;
        char *e2;
        long k;
        while (end > path && end[-1] == '/')
            end--;
        start = end;
        while (start > path && start[-1] != '/')
            start--;
        t = strstr(start, "-trainset");
        if (t && t < end && (sh = strstr(t, "shuffle")) && sh < end) {
            k = strtol(sh + 7, &e2, 10);
            if (e2 == end && k > 0 && (size_t)(t - start) < n) {
                snprintf(buf, n, "%.*s", (int)(t - start), start);
                *shuffle = (int)k;
                return 0;
            }
        }
        end = start;
    }
    return -1;
}

/* ---------------------------------------------------------------------------------------------
 * One layout each
 * ------------------------------------------------------------------------------------------- */
static int dirname_of(const char *path, char *out, size_t n)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        snprintf(out, n, ".");
    else
        snprintf(out, n, "%.*s", (int)(slash == path ? 1 : slash - path), path);
    return VAS_OK;
}

static void set_project(model_loc *m, const char *given, int levels)
{
    project p;
    vas_err ignore = {0};

    if (given && given[0])
        snprintf(m->project, sizeof(m->project), "%s", given);
    else
        project_above(m->dir, levels, m->project, sizeof(m->project));
    if (!m->taskdate[0] && m->project[0] && read_project(m->project, &p, &ignore) == 0)
        snprintf(m->taskdate, sizeof(m->taskdate), "%s%s", p.task, p.date);
}

/* "..._shuffle-<k>" at the end of an export folder's name. */
static void export_shuffle(model_loc *m)
{
    const char *s = strstr(m->dir, "_shuffle-");
    long k;

    if (s && (k = strtol(s + 9, NULL, 10)) > 0)
        m->shuffle = (int)k;
}

static int locate_train(const char *dir, const char *snapshot, const char *proj, long index,
                        model_loc *m, vas_err *e)
{
    snap *s = calloc(MAX_SNAPSHOTS, sizeof(*s));
    int n = 0, at;
    int rc = VAS_OK;

    if (!s)
        return err_set(e, VAS_ENOMEM, "out of memory");
    m->kind = MODEL_DLC3_SNAPSHOT;
    snprintf(m->dir, sizeof(m->dir), "%s", dir);
    rc = path_join(m->model_cfg, sizeof(m->model_cfg), dir, "pytorch_config.yaml", e);
    if (rc == VAS_OK && !is_file(m->model_cfg))
        rc = err_set(e, VAS_EINVAL, "%s has no pytorch_config.yaml", dir);
    if (rc == VAS_OK)
        list_snapshots(dir, s, &n);
    if (rc == VAS_OK && n == 0)
        rc = err_set(e, VAS_EINVAL, "%s holds no snapshot-*.pt (train the model first)", dir);
    if (rc == VAS_OK) {
        at = snapshot && snapshot[0] ? snap_pick(s, n, snapshot)
                                     : (int)(index < 0 ? n + index : index);
        if (at < 0 || at >= n)
            rc =
                snapshot && snapshot[0]
                    ? err_set(e, VAS_EINVAL, "%s has no snapshot '%.100s' (it has %d, the last %s)",
                              dir, snapshot, n, s[n - 1].name)
                    : err_set(e, VAS_EINVAL,
                              "snapshotindex %ld is out of range: %s has %d snapshots", index, dir,
                              n);
        else {
            rc = path_join(m->weights, sizeof(m->weights), dir, s[at].name, e);
            snap_uid(&s[at], m->snapshot_uid, sizeof(m->snapshot_uid));
        }
    }
    free(s);
    if (rc < 0)
        return rc;
    model_parse_shuffle_dir(dir, m->taskdate, sizeof(m->taskdate), &m->shuffle);
    set_project(m, proj, 4);
    return VAS_OK;
}

static int is_export_pt(const char *s)
{
    return is_pt(s) && strstr(s, "_snapshot-") != NULL;
}

/* 1 if the export file `name` is the snapshot `want` names: the file name, its uid
 * ("best-190", "200") or "best" for a best one. */
static int export_match(const char *name, const char *want)
{
    const char *u = strstr(name, "_snapshot-");
    size_t ul;

    if (strcmp(name, want) == 0)
        return 1;
    if (!u)
        return 0;
    u += 10;
    ul = strlen(u) - (ends_with(u, ".pth") ? 4 : 3);
    if (strcmp(want, "best") == 0)
        return strncmp(u, "best-", 5) == 0;
    return strlen(want) == ul && strncmp(u, want, ul) == 0;
}

/* The export file `want` names, into out; -1 if none. */
static int export_find(const char *dir, const char *want, char *out, size_t n)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    out[0] = '\0';
    while (d && (de = readdir(d))) /* NOLINT(concurrency-mt-unsafe): this DIR is ours */
        if (is_pt(de->d_name) && export_match(de->d_name, want))
            snprintf(out, n, "%s", de->d_name);
    if (d)
        closedir(d);
    return out[0] ? 0 : -1;
}

/* A DLC 3 export folder: <name>_snapshot-<uid>.pt (one, or the one `snapshot` names). */
static int locate_export(const char *dir, const char *snapshot, model_loc *m, vas_err *e)
{
    char first[256];
    int n = count_matching(dir, is_pt, first, sizeof(first));
    const char *uid;

    m->kind = MODEL_DLC3_EXPORT;
    snprintf(m->dir, sizeof(m->dir), "%s", dir);
    if (n == 0)
        return err_set(e, VAS_EINVAL, "%s holds no .pt file", dir);
    if (snapshot && snapshot[0] && export_find(dir, snapshot, first, sizeof(first)) < 0)
        return err_set(e, VAS_EINVAL, "%s has no exported snapshot '%.100s'", dir, snapshot);
    if (!(snapshot && snapshot[0]) && n > 1)
        return err_set(e, VAS_EINVAL,
                       "%s holds %d .pt files: name one with the model's snapshot setting", dir, n);
    uid = strstr(first, "_snapshot-");
    if (uid)
        snprintf(m->snapshot_uid, sizeof(m->snapshot_uid), "%.*s",
                 (int)(strlen(uid + 10) - (ends_with(uid, ".pth") ? 4 : 3)), uid + 10);
    export_shuffle(m);
    set_project(m, NULL, 2);
    return path_join(m->weights, sizeof(m->weights), dir, first, e);
}

static int locate_dlc2(const char *dir, model_loc *m, vas_err *e)
{
    char pb[256];
    int n = count_matching(dir, is_pb, pb, sizeof(pb));
    int rc;

    m->kind = MODEL_DLC2_EXPORT;
    snprintf(m->dir, sizeof(m->dir), "%s", dir);
    if (n != 1)
        return err_set(e, VAS_EINVAL, "%s must hold exactly one snapshot-<iteration>.pb (found %d)",
                       dir, n);
    rc = path_join(m->weights, sizeof(m->weights), dir, pb, e);
    if (rc == VAS_OK)
        rc = path_join(m->model_cfg, sizeof(m->model_cfg), dir, "pose_cfg.yaml", e);
    if (rc < 0)
        return rc;
    snprintf(m->snapshot_uid, sizeof(m->snapshot_uid), "%.*s", (int)(strlen(pb) - 12), pb + 9);
    export_shuffle(m);
    set_project(m, NULL, 2);
    return VAS_OK;
}

static int locate_onnx(const char *dir, const char *config, model_loc *m, vas_err *e)
{
    char name[256];
    int n = count_matching(dir, is_onnx, name, sizeof(name));
    int rc;

    m->kind = MODEL_ONNX;
    snprintf(m->dir, sizeof(m->dir), "%s", dir);
    if (n != 1)
        return err_set(e, VAS_EINVAL, "model folder %s must hold exactly one .onnx file (found %d)",
                       dir, n);
    rc = path_join(m->weights, sizeof(m->weights), dir, name, e);
    if (rc == VAS_OK)
        rc = path_join(m->model_cfg, sizeof(m->model_cfg), dir, "pose_cfg.yaml", e);
    if (rc == VAS_OK && config)
        snprintf(m->project, sizeof(m->project), "%s", config);
    else if (rc == VAS_OK)
        rc = path_join(m->project, sizeof(m->project), dir, "config.yaml", e);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * A project: its shuffle 1 model, as DLC finds it
 * ------------------------------------------------------------------------------------------- */

/* An export folder of the project: DLC_<Task>_<net>_iteration-<i>_shuffle-1. */
static int find_export(const char *root, const project *p, char *out, size_t n)
{
    DIR *d = opendir(root);
    struct dirent *de;
    char pre[200], suf[64];

    out[0] = '\0';
    if (!d)
        return -1;
    snprintf(pre, sizeof(pre), "DLC_%s_", p->task);
    snprintf(suf, sizeof(suf), "_iteration-%ld_shuffle-1", p->iteration);
    while ((de = readdir(d))) /* NOLINT(concurrency-mt-unsafe): this DIR is ours */
        if (strncmp(de->d_name, pre, strlen(pre)) == 0 && ends_with(de->d_name, suf) &&
            (!out[0] || strcmp(de->d_name, strrchr(out, '/') + 1) < 0))
            snprintf(out, n, "%s/%s", root, de->d_name);
    closedir(d);
    return out[0] ? 0 : -1;
}

static int locate_project(const char *config, const char *snapshot, model_loc *m, vas_err *e)
{
    char root[MODEL_PATH_MAX], dir[MODEL_PATH_MAX], sub[MODEL_PATH_MAX], hit[MODEL_PATH_MAX];
    project p;
    int pct, rc = read_project(config, &p, e);

    if (rc < 0)
        return rc;
    dirname_of(config, root, sizeof(root));
    pct = (int)(p.train_fraction * 100); /* Python's int(): truncates, as DLC's folder name */
    snprintf(sub, sizeof(sub), "iteration-%ld/%s%s-trainset%dshuffle1", p.iteration, p.task, p.date,
             pct);
    if (pathf(dir, sizeof(dir), e, "%s/dlc-models-pytorch/%s/train", root, sub) < 0)
        return VAS_EINVAL;
    if (is_dir(dir))
        return locate_train(dir, snapshot, config, p.snapshotindex, m, e);
    if (pathf(dir, sizeof(dir), e, "%s/exported-models-pytorch", root) < 0)
        return VAS_EINVAL;
    if (find_export(dir, &p, hit, sizeof(hit)) == 0) {
        rc = locate_export(hit, snapshot, m, e);
        snprintf(m->project, sizeof(m->project), "%s", config);
        return rc;
    }
    if (pathf(dir, sizeof(dir), e, "%s/exported-models", root) < 0)
        return VAS_EINVAL;
    if (find_export(dir, &p, hit, sizeof(hit)) == 0) {
        rc = locate_dlc2(hit, m, e);
        snprintf(m->project, sizeof(m->project), "%s", config);
        return rc;
    }
    if (pathf(dir, sizeof(dir), e, "%s/dlc-models/%s/train", root, sub) < 0)
        return VAS_EINVAL;
    if (is_dir(dir))
        return err_set(e, VAS_EUNSUPPORTED,
                       "%s is a DeepLabCut 2 (TensorFlow) shuffle without an export: run "
                       "deeplabcut.export_model on it and point vas at the exported folder",
                       dir);
    return err_set(e, VAS_EINVAL,
                   "project %s has no trained shuffle 1 model: looked for "
                   "dlc-models-pytorch/%s/train, exported-models-pytorch/DLC_%s_*_iteration-%ld_"
                   "shuffle-1 and exported-models/ (DeepLabCut 2 exports)",
                   root, sub, p.task, p.iteration);
}

/* ---------------------------------------------------------------------------------------------
 * Entry
 * ------------------------------------------------------------------------------------------- */
static int has(const char *dir, const char *name)
{
    char p[MODEL_PATH_MAX];

    return (size_t)snprintf(p, sizeof(p), "%s/%s", dir, name) < sizeof(p) && is_file(p);
}

static int locate_dir(const char *dir, const char *snapshot, model_loc *m, vas_err *e)
{
    char sub[MODEL_PATH_MAX];

    if (has(dir, "pose_cfg.yaml") && count_matching(dir, is_onnx, NULL, 0) > 0)
        return locate_onnx(dir, NULL, m, e);
    if (has(dir, "pose_cfg.yaml") && count_matching(dir, is_pb, NULL, 0) > 0)
        return locate_dlc2(dir, m, e);
    if (has(dir, "pytorch_config.yaml"))
        return locate_train(dir, snapshot, NULL, -1, m, e);
    if (has(dir, "train/pytorch_config.yaml")) {
        snprintf(sub, sizeof(sub), "%s/train", dir);
        return locate_train(sub, snapshot, NULL, -1, m, e);
    }
    if (count_matching(dir, is_export_pt, NULL, 0) > 0 || count_matching(dir, is_pt, NULL, 0) > 0)
        return locate_export(dir, snapshot, m, e);
    if (count_matching(dir, is_tf_ckpt, NULL, 0) > 0)
        return err_set(e, VAS_EUNSUPPORTED,
                       "%s holds DeepLabCut 2 TensorFlow checkpoints: run deeplabcut.export_model "
                       "on the shuffle and point vas at the exported folder",
                       dir);
    if (has(dir, "config.yaml")) {
        snprintf(sub, sizeof(sub), "%s/config.yaml", dir);
        return locate_project(sub, snapshot, m, e);
    }

    return err_set(e, VAS_EINVAL,
                   "no model in %s: expected a DeepLabCut project (config.yaml), a DLC 3 train "
                   "folder (pytorch_config.yaml + snapshot-*.pt), a DLC 3 export (.pt), a DLC 2 "
                   "export (pose_cfg.yaml + snapshot-*.pb) or a vas bundle (.onnx)",
                   dir);
}

static int locate_file(const char *path, const char *snapshot, model_loc *m, vas_err *e)
{
    char dir[MODEL_PATH_MAX];
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

    dirname_of(path, dir, sizeof(dir));
    if (ends_with(path, ".pt") || ends_with(path, ".pth"))
        return has(dir, "pytorch_config.yaml") ? locate_train(dir, base, NULL, -1, m, e)
                                               : locate_export(dir, base, m, e);
    if (ends_with(path, ".pb"))
        return locate_dlc2(dir, m, e);
    if (strcmp(base, "pytorch_config.yaml") == 0)
        return locate_train(dir, snapshot, NULL, -1, m, e);
    if (has(dir, "pose_cfg.yaml") && count_matching(dir, is_onnx, NULL, 0) > 0)
        return locate_onnx(dir, path, m, e);
    if (strcmp(base, "pose_cfg.yaml") == 0)
        return locate_dlc2(dir, m, e);
    return locate_project(path, snapshot, m, e);
}

int model_locate(const char *path, const char *snapshot, model_loc *out, vas_err *e)
{
    memset(out, 0, sizeof(*out));
    out->shuffle = 1;
    if (strlen(path) >= MODEL_PATH_MAX - 64)
        return err_set(e, VAS_EINVAL, "model path too long: %.200s...", path);
    if (is_dir(path))
        return locate_dir(path, snapshot, out, e);
    if (is_file(path))
        return locate_file(path, snapshot, out, e);
    return err_set(e, VAS_EINVAL, "no such model file or folder: %s", path);
}
